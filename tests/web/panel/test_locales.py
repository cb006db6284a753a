"""Survey tools' language codes ('ZH-S', 'pt-BR', 'de-DE'): accepted alike by the session start,
the integration-info call and the /r/ page, and normalised to pick the consent text."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support import panel
from tests.support.factories import add_consent_text, make_ad, make_integration, make_study
from web.clips.models import PanelSession
from web.panel.locales import canonical_tag, is_language_tag, primary_language
from web.studies.models import Integration

API = panel.API


@pytest.fixture
def integration(db_session: Session) -> Integration:
    """English (the default) and French from the factory, plus Chinese and Brazilian Portuguese."""
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    for locale, text in (("zh", "我同意被录像。"), ("pt-BR", "Eu concordo em ser filmado.")):
        add_consent_text(db_session, integration, locale, text)
    return integration


# (what the survey sends, the consent text chosen and stored)
CHOICES = [
    ("ZH-S", "zh"),  # Qualtrics' simplified Chinese: a one-letter subtag
    ("ZH-T", "zh"),
    ("zh-Hans-CN", "zh"),  # language, script and region
    ("pt-BR", "pt-BR"),  # the designer wrote this very tag
    ("PT-BR", "pt-BR"),  # in Qualtrics' capitals
    ("pt_br", "pt-BR"),
    ("pt-PT", "en"),  # no text in pt-PT or in pt: the integration's default
    ("de-DE", "en"),
    ("FR-CA", "fr"),
    ("fr_CA", "fr"),
    ("de-informal", "en"),  # LimeSurvey
    ("es-419", "en"),
    ("EN", "en"),
]


@pytest.mark.parametrize(("sent", "chosen"), CHOICES)
def test_session_start_accepts_the_tag_and_stores_the_locale_it_picked(
    client: TestClient, db_session: Session, integration: Integration, sent: str, chosen: str
) -> None:
    started = panel.start(client, integration, locale=sent)
    assert started.body["locale"] == chosen
    assert started.body["consent"]["locale"] == chosen
    row = db_session.scalar(select(PanelSession))
    assert row is not None and row.locale == chosen
    # The consent is recorded against that text, in that locale.
    assert panel.consent(client, started)["status"] == "consented"


@pytest.mark.parametrize(("sent", "chosen"), CHOICES)
def test_integration_info_picks_the_same_text(
    client: TestClient, integration: Integration, sent: str, chosen: str
) -> None:
    response = client.get(f"{API}/integrations/{integration.public_key}", params={"locale": sent})
    assert response.status_code == 200, response.text
    assert response.json()["locale"] == chosen
    assert response.json()["consent"]["locale"] == chosen


BAD_TAGS = ["x", "e n", "<script>", "en--US", "12", "en-", "-en", "en-toolongsubtag", "a" * 9]


@pytest.mark.parametrize("bad", [*BAD_TAGS, "en-" + "-".join(["abcdefgh"] * 4)])
def test_what_is_no_language_tag_is_422_on_both_calls(
    client: TestClient, integration: Integration, bad: str
) -> None:
    start = client.post(
        f"{API}/sessions",
        json={"integration": integration.public_key, "respondent_id": "r1", "locale": bad},
    )
    assert start.status_code == 422, bad
    assert "locale" in str(start.json()["detail"])
    info = client.get(f"{API}/integrations/{integration.public_key}", params={"locale": bad})
    assert info.status_code == 422, bad


def _script_attrs(html: str) -> dict[str, str]:
    tag = re.search(r"<script type=\"module\"(.*?)></script>", html, re.S)
    assert tag, html
    return {k: unescape(v) for k, v in re.findall(r"([\w-]+)=\"([^\"]*)\"", tag.group(1))}


@pytest.mark.parametrize(
    ("sent", "page_lang", "passed_on"),
    [
        ("ZH-S", "en", "ZH-S"),  # the page speaks English and French; the recorder gets the tag
        ("FR-CA", "fr", "FR-CA"),
        ("zh-Hans-CN", "en", "zh-Hans-CN"),
        ("de-CH-informal", "en", "de-CH-informal"),  # past the 10 characters it used to allow
        ("<script>", "en", ""),  # malformed: dropped, the integration's default language
        ("fr-" + "x" * 40, "en", ""),
    ],
)
def test_recorder_page_takes_the_same_tags(
    client: TestClient, integration: Integration, sent: str, page_lang: str, passed_on: str
) -> None:
    response = client.get(f"/r/{integration.public_key}", params={"rid": "R_1", "locale": sent})
    assert response.status_code == 200
    assert f'<html lang="{page_lang}">' in response.text
    assert _script_attrs(response.text)["data-locale"] == passed_on


def test_tag_helpers() -> None:
    assert [primary_language(t) for t in ("ZH-S", "pt_BR", "de")] == ["zh", "pt", "de"]
    assert canonical_tag("ZH-HANS-cn") == "zh-Hans-CN"
    assert canonical_tag("pt_br") == "pt-BR"
    assert canonical_tag("de-INFORMAL") == "de-informal"
    assert all(is_language_tag(sent) for sent, _ in CHOICES)
    assert not any(is_language_tag(bad) for bad in BAD_TAGS)
    assert is_language_tag("en-" + "-".join(["abcdefgh"] * 3))  # 29 characters
    assert not is_language_tag("en-" + "-".join(["abcdefgh"] * 4))  # 38: past the bound
