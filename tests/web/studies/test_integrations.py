"""Integrations: validation, default consent texts, versioning that never edits in place,
embed snippets per survey platform and the preview link."""

from __future__ import annotations

import hashlib
import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.statuses import SessionStatus
from tests.support.auth import csrf_headers, csrf_token
from web.studies.models import ConsentText, Integration, IntegrationKind, Study
from web.studies.schemas import IntegrationIn

HTML = {"accept": "text/html"}


def _create(client: TestClient, study: Study, **body: Any) -> Any:
    return client.post(
        f"/api/v1/studies/{study.id}/integrations",
        json={"name": "Wave 1", **body},
        headers=csrf_headers(client),
    )


@pytest.mark.parametrize(
    "template",
    [
        "",
        "https://survey.example.org/end?rid={respondent_id}&s={status}&r={receipt}",
        "http://127.0.0.1:9000/{status}/{respondent_id}",
        "https://x.example/back#done",
    ],
)
def test_good_return_url_templates(template: str) -> None:
    assert IntegrationIn(name="x", return_url_template=template).return_url_template == template


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("https://s.example/?id={respondent}", "unknown placeholder {respondent}"),
        ("https://s.example/?id={RESPONDENT_ID}", "unknown placeholder"),
        ("https://s.example/?id={}", "unknown placeholder {}"),
        ("https://s.example/?id={respondent_id", "not part of a placeholder"),
        ("https://s.example/?id=respondent_id}", "not part of a placeholder"),
        ("javascript:alert(1)", "must start with https://"),
        ("ftp://s.example/x", "must start with https://"),
        ("/relative/path?rid={respondent_id}", "must start with https://"),
        ("https:///no-host", "must start with https://"),
        ("https://{status}.example.org/", "only in the path or query"),
        ("https://s.example/a b", "may not contain spaces"),
        ("https://s.example/" + "a" * 2000, "longer than 2000"),
    ],
)
def test_bad_return_url_templates_are_refused(template: str, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        IntegrationIn(name="x", return_url_template=template)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["age band"], "not a variable name"),
        (["1st"], "not a variable name"),
        (["age-band"], "not a variable name"),
        (["rid"], "used by Candor itself"),
        (["Status"], "used by Candor itself"),
        (["age", "AGE"], "listed twice"),
        ([f"v{i}" for i in range(21)], "at most 20"),
    ],
)
def test_bad_passthrough_vars_are_refused(names: list[str], message: str) -> None:
    with pytest.raises(ValidationError) as error:
        IntegrationIn(name="x", passthrough_vars=names)
    assert message in str(error.value)


def test_form_input_for_vars_is_split() -> None:
    parsed = IntegrationIn.model_validate({"name": "x", "passthrough_vars": " age_band, country "})
    assert parsed.passthrough_vars == ["age_band", "country"]


def test_api_refuses_a_bad_template_with_a_clear_message(client: TestClient, study: Study) -> None:
    response = _create(client, study, return_url_template="https://s.example/?x={who}")
    assert response.status_code == 422
    assert "unknown placeholder {who}" in response.text


def test_new_integration_gets_default_texts_in_english_and_french(
    client: TestClient, db_session: Session, study: Study
) -> None:
    response = _create(
        client,
        study,
        kind="qualtrics",
        return_url_template="https://s.example/?rid={respondent_id}&st={status}",
        passthrough_vars=["age_band", "country"],
        default_locale="fr",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["locales"] == ["fr", "en"]
    assert len(body["public_key"]) >= 20
    consents = client.get(f"/api/v1/studies/{study.id}/integrations/{body['id']}/consent").json()
    en, fr = consents["en"], consents["fr"]
    assert en["version"] == fr["version"] == 1
    for text in (en, fr):
        assert text["sha256"] == hashlib.sha256(text["consent_text"].encode()).hexdigest()
        assert "owner@example.org" in text["consent_text"]  # the contact, to review
        assert text["instructions"]
    # Plain-language promises, in both languages.
    for phrase in (
        "only while each ad is playing",
        "deleted",
        "do not try to find out who you are",
        "at any time",
        "Questions: contact",
    ):
        assert phrase in en["consent_text"]
    for phrase in (
        "uniquement pendant",
        "supprimée",
        "nous ne cherchons pas à savoir qui vous êtes",
        "à tout moment",
        "Questions : contactez",
    ):
        assert phrase in fr["consent_text"]


def test_new_integration_must_start_in_a_language_with_defaults(
    client: TestClient, study: Study
) -> None:
    response = _create(client, study, default_locale="de")
    assert response.status_code == 400
    assert "add other languages after creating it" in response.json()["detail"]


def test_editing_consent_makes_a_new_version_and_keeps_the_old(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _create(client, study).json()
    base = f"/api/v1/studies/{study.id}/integrations/{integration['id']}"
    original = client.get(f"{base}/consent").json()["en"]

    # Browsers send CRLF: the stored text and its hash use LF, exactly what is shown.
    edited = client.post(
        f"{base}/consent/en",
        json={"consent_text": "Line one.\r\nLine two — é.\r\n", "instructions": "Sit still."},
        headers=csrf_headers(client),
    )
    assert edited.status_code == 201, edited.text
    new = edited.json()
    assert new["version"] == 2 and new["id"] != original["id"]
    assert new["consent_text"] == "Line one.\nLine two — é."
    assert new["sha256"] == hashlib.sha256("Line one.\nLine two — é.".encode()).hexdigest()

    old_row = db_session.get(ConsentText, original["id"])
    assert old_row is not None
    assert old_row.consent_text == original["consent_text"] and old_row.version == 1
    versions = client.get(f"{base}/consent/en/versions").json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["sha256"] == original["sha256"]
    # French is untouched.
    assert client.get(f"{base}/consent").json()["fr"]["version"] == 1

    unchanged = client.post(
        f"{base}/consent/en",
        json={"consent_text": "Line one.\nLine two — é.", "instructions": "Sit still."},
        headers=csrf_headers(client),
    )
    assert unchanged.status_code == 200 and unchanged.json()["version"] == 2

    empty = client.post(
        f"{base}/consent/en", json={"consent_text": "  "}, headers=csrf_headers(client)
    )
    assert empty.status_code == 422


def test_consent_pages_edit_and_history(
    client: TestClient, db_session: Session, study: Study
) -> None:
    created = client.post(
        f"/studies/{study.id}/integrations/new",
        data={
            "name": "Panel link",
            "kind": "generic",
            "default_locale": "en",
            "passthrough_vars": "age_band",
            "csrf_token": csrf_token(client),
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert created.status_code == 303
    page_url = created.headers["location"]
    integration = db_session.scalar(select(Integration).where(Integration.study_id == study.id))
    assert integration is not None and page_url.endswith(f"/integrations/{integration.id}")
    assert integration.passthrough_vars == ["age_band"]

    editor = client.get(f"{page_url}/consent/fr", headers=HTML)
    assert "Saving makes version 2" in editor.text
    saved = client.post(
        f"{page_url}/consent/fr",
        data={
            "consent_text": "Nouveau texte.",
            "instructions": "",
            "csrf_token": csrf_token(client),
        },
        headers=HTML,
    )
    assert saved.status_code == 200  # followed to the history page
    assert "Version 2 (current)" in saved.text and "Version 1" in saved.text
    assert "Nouveau texte." in saved.text and "Ce qui est filmé" in saved.text
    assert hashlib.sha256(b"Nouveau texte.").hexdigest() in saved.text

    # A new language starts empty, with the default language's text for reference.
    added = client.get(f"{page_url}/consent?locale=de", headers=HTML)
    assert added.status_code == 200 and "no text in this language yet" in added.text
    bad = client.get(f"{page_url}/consent?locale=German", headers=HTML, follow_redirects=False)
    assert bad.status_code == 303 and "language_error" in bad.headers["location"]
    assert client.get(f"{page_url}/consent/de/versions", headers=HTML).status_code == 404


def test_default_locale_must_have_a_text(client: TestClient, study: Study) -> None:
    integration = _create(client, study).json()
    url = f"/api/v1/studies/{study.id}/integrations/{integration['id']}"
    refused = client.patch(url, json={"default_locale": "de"}, headers=csrf_headers(client))
    assert refused.status_code == 400
    client.post(f"{url}/consent/de", json={"consent_text": "Hallo."}, headers=csrf_headers(client))
    accepted = client.patch(url, json={"default_locale": "de"}, headers=csrf_headers(client))
    assert accepted.status_code == 200 and accepted.json()["locales"][0] == "de"


@pytest.mark.parametrize(
    ("kind", "rid", "var", "recommended"),
    [
        ("qualtrics", "${e://Field/ResponseID}", "${e://Field/age_band}", "iframe"),
        ("limesurvey", "{SAVEDID}", "{age_band}", "iframe"),
        ("generic", "RESPONDENT_ID", "AGE_BAND", "link"),
        ("script", "RESPONDENT_ID", "AGE_BAND", "script"),
        ("iframe", "RESPONDENT_ID", "AGE_BAND", "iframe"),
    ],
)
def test_snippets_per_kind(
    client: TestClient, study: Study, kind: str, rid: str, var: str, recommended: str
) -> None:
    integration = _create(client, study, kind=kind, passthrough_vars=["age_band"]).json()
    key = integration["public_key"]
    snippets = client.get(
        f"/api/v1/studies/{study.id}/integrations/{integration['id']}/snippets"
    ).json()
    assert snippets["recommended"] == recommended
    assert snippets["link"].startswith(f"http://127.0.0.1:8000/r/{key}?rid={rid}&age_band={var}")
    iframe_src = re.search(r'src="([^"]+)"', snippets["iframe"])
    assert iframe_src is not None and html.unescape(iframe_src.group(1)) == snippets["link"]
    assert 'allow="camera; autoplay' in snippets["iframe"]
    script = snippets["script"]
    assert script.startswith(
        '<script type="module" src="http://127.0.0.1:8000/recorder/candor-recorder.js"'
    )
    assert f'data-integration="{key}"' in script
    assert f'data-respondent-id="{html.escape(rid)}"' in script
    assert f'data-vars="age_band={html.escape(var)}"' in script
    assert re.fullmatch(
        rf"/r/{re.escape(key)}\?rid=preview-[0-9a-f]{{12}}&preview=1&preview_token=[\w.%-]+",
        snippets["preview_url"],
    )


def test_integration_page_shows_snippets_preview_and_versions(
    client: TestClient, study: Study, integration: Integration
) -> None:
    page = client.get(f"/studies/{study.id}/integrations/{integration.id}", headers=HTML)
    assert page.status_code == 200
    assert "/recorder/candor-recorder.js" in page.text
    assert f"/r/{integration.public_key}?rid=preview-" in page.text
    assert "Preview the panelist flow" in page.text
    # Previews are marked and left out of every result: say so (and not the opposite).
    text = " ".join(page.text.split())
    assert "never counts in this study's results" in text
    assert "A preview is a real session" not in text
    assert 'href="/erase"' in page.text
    assert "/consent/en/versions" in page.text and "/consent/fr/versions" in page.text


def test_integration_kinds_are_all_offered(client: TestClient, study: Study) -> None:
    form = client.get(f"/studies/{study.id}/integrations/new", headers=HTML).text
    for kind in IntegrationKind:
        assert f'value="{kind.value}"' in form


def test_the_return_url_help_lists_every_status(client: TestClient, study: Study) -> None:
    form = " ".join(client.get(f"/studies/{study.id}/integrations/new", headers=HTML).text.split())
    statuses = ("complete", "incomplete", "declined", "no_camera", "withdrawn", "failed", "closed")
    for status in statuses:
        assert status in form.split("Placeholders:")[1].split("Example:")[0], status
    # Every status the recorder may return is one the help names (the server's own list).
    for status in SessionStatus:
        if status not in (SessionStatus.STARTED, SessionStatus.CONSENTED, SessionStatus.ABANDONED):
            assert status.value in statuses, status
