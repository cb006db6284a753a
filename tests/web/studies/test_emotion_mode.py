"""Emotion mode: off by default, fielded only with consent texts that disclose it (AI Act 50(3)),
switched only before the first panelist consents, and snapshotted on each panel session."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support import panel
from tests.support.auth import csrf_headers, csrf_token, login, make_user
from tests.support.factories import (
    add_consent_text,
    make_ad,
    make_integration,
    preview_token_for,
)
from web.accounts.models import Organisation, Role, User
from web.clips.models import PanelSession
from web.settings import Settings
from web.studies.consent_defaults import DEFAULT_LOCALES, default_consent
from web.studies.models import ConsentText, Integration, Study

HTML = {"accept": "text/html"}


def _switch(client: TestClient, study: Study, on: bool) -> object:
    return client.patch(
        f"/api/v1/studies/{study.id}", json={"emotion_mode": on}, headers=csrf_headers(client)
    )


def _fieldable(db_session: Session, study: Study) -> Integration:
    """An integration whose en and fr texts are the factory's (which disclose nothing)."""
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    return integration


def _disclose(db_session: Session, integration: Integration) -> None:
    for locale in ("en", "fr"):
        add_consent_text(db_session, integration, locale, f"Emotions inferred ({locale}).", 2, True)


def test_default_texts_have_a_disclosing_variant_in_english_and_french() -> None:
    for locale in DEFAULT_LOCALES:
        plain = default_consent(locale, organisation="Acme", contact="a@example.org")
        told = default_consent(locale, organisation="Acme", contact="a@example.org", emotions=True)
        assert not plain.discloses_emotion and told.discloses_emotion
        word = {"en": "emotions", "fr": "émotions"}[locale]
        assert word not in plain.consent_text and word in told.consent_text
        # The variant adds the disclosure; it drops nothing else the panelist is told.
        assert told.consent_text.startswith(plain.consent_text.split("\n\n")[0])
        assert len(told.consent_text) > len(plain.consent_text)


def test_new_integrations_start_with_texts_matching_the_mode(
    client: TestClient, db_session: Session, study: Study
) -> None:
    def create() -> list[ConsentText]:
        response = client.post(
            f"/api/v1/studies/{study.id}/integrations",
            json={"name": "Link"},
            headers=csrf_headers(client),
        )
        assert response.status_code == 201, response.text
        return list(
            db_session.scalars(
                select(ConsentText).where(ConsentText.integration_id == response.json()["id"])
            )
        )

    assert [t.discloses_emotion for t in create()] == [False, False]
    assert _switch(client, study, True).status_code == 200  # type: ignore[attr-defined]
    told = create()
    assert [t.discloses_emotion for t in told] == [True, True]
    assert all("motion" in t.consent_text for t in told)


def test_a_study_in_emotion_mode_is_not_fielded_until_every_text_discloses_it(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _fieldable(db_session, study)
    response = _switch(client, study, True)
    assert response.status_code == 200 and response.json()["emotion_mode"] is True  # type: ignore[attr-defined]

    refused = client.post(
        f"{panel.API}/sessions",
        json={"integration": integration.public_key, "respondent_id": "r1", "locale": "en"},
    )
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert "infers emotions" in detail and "en (version 1)" in detail and "fr (version 1)" in detail
    # Not the panelist's doing: the recorder's polite "closed" screen and status (issue 24.1),
    # with the integration's return URL so it offers Continue.
    body = refused.json()
    assert body["code"] == "study_closed" and body["intake"] == "not_ready"
    assert body["return_url_template"] == integration.return_url_template
    assert db_session.scalar(select(PanelSession)) is None

    state = client.get(f"/api/v1/studies/{study.id}/emotion-mode").json()
    assert state["emotion_mode"] and not state["can_field"] and state["can_switch"]
    assert [(g["locale"], g["version"]) for g in state["gaps"]] == [("en", 1), ("fr", 1)]
    assert "not marked as telling panelists" in state["gaps"][0]["reason"]

    # The designer is told which text and why, with a way to fix it, on both pages.
    for url in (f"/studies/{study.id}", f"/studies/{study.id}/integrations/{integration.id}"):
        page = client.get(url, headers=HTML).text
        assert "cannot be fielded yet" in page and "article 50(3)" in page
        assert f"/integrations/{integration.id}/consent/fr?template=emotion" in page

    # Only English disclosed: still refused, now naming French alone.
    add_consent_text(db_session, integration, "en", "We infer emotions.", 2, True)
    refused = client.post(
        f"{panel.API}/sessions",
        json={"integration": integration.public_key, "respondent_id": "r1", "locale": "en"},
    )
    assert refused.status_code == 409 and "en (" not in refused.json()["detail"]

    add_consent_text(db_session, integration, "fr", "Nous inférons des émotions.", 2, True)
    started = panel.start(client, integration)
    assert panel.consent(client, started)["status"] == "consented"
    snapshot = db_session.scalar(select(PanelSession.emotion_mode))
    assert snapshot is True
    assert client.get(f"/api/v1/studies/{study.id}/emotion-mode").json()["can_field"]


def test_a_study_not_in_emotion_mode_records_sessions_without_it(
    client: TestClient, db_session: Session, study: Study
) -> None:
    started = panel.start(client, _fieldable(db_session, study))
    panel.consent(client, started)
    assert db_session.scalar(select(PanelSession.emotion_mode)) is False


def test_switching_is_refused_once_a_panelist_has_consented(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _fieldable(db_session, study)
    _disclose(db_session, integration)
    # A designer's preview does not lock the setting.
    preview = client.post(
        f"{panel.API}/sessions",
        json={
            "integration": integration.public_key,
            "respondent_id": "p",
            "preview": True,
            "preview_token": preview_token_for(integration),
        },
    )
    assert preview.status_code == 201
    panel.consent(client, panel.Started(preview.json()["session_id"], preview.json()["token"],
                                        preview.json()))  # fmt: skip
    assert _switch(client, study, True).status_code == 200  # type: ignore[attr-defined]
    assert _switch(client, study, False).status_code == 200  # type: ignore[attr-defined]

    panel.consent(client, panel.start(client, integration, respondent_id="real"))
    refused = _switch(client, study, True)
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "emotion mode stays off" in refused.json()["detail"]  # type: ignore[attr-defined]
    db_session.refresh(study)
    assert study.emotion_mode is False
    # Saying the same thing again is not a switch.
    assert _switch(client, study, False).status_code == 200  # type: ignore[attr-defined]
    # The sessions keep what they consented under.
    modes = sorted(db_session.scalars(select(PanelSession.emotion_mode)))
    assert modes == [False, False]

    # The edit page shows the setting locked, and the form cannot switch it either.
    form = client.get(f"/studies/{study.id}/edit", headers=HTML).text
    assert "Locked:" in form and 'id="f-emotion_mode"' in form and " disabled" in form
    page = client.post(
        f"/studies/{study.id}/edit",
        data={"name": study.name, "emotion_mode": "on", "csrf_token": csrf_token(client)},
        headers=HTML,
    )
    assert page.status_code == 409 and "emotion mode stays off" in page.text


def test_agreeing_to_a_text_shown_before_the_switch_is_refused(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _fieldable(db_session, study)
    started = panel.start(client, integration)  # shown version 1, which discloses nothing
    _disclose(db_session, integration)
    assert _switch(client, study, True).status_code == 200  # type: ignore[attr-defined]
    text = started.body["consent"]
    response = client.post(
        f"{panel.API}/sessions/{started.session_id}/consent",
        headers=started.headers,
        json={
            "consent_text_id": text["consent_text_id"],
            "text_sha256": text["sha256"],
            "locale": "en",
            "decision": "agree",
        },
    )
    assert response.status_code == 409 and "reload" in response.json()["detail"]
    assert db_session.scalar(select(PanelSession.emotion_mode)) is False


def test_the_study_forms_switch_it_with_a_checkbox(
    client: TestClient, db_session: Session, organisation: Organisation
) -> None:
    form = client.get(f"/orgs/{organisation.id}/studies/new", headers=HTML).text
    assert 'name="emotion_mode"' in form and "article 50(3)" in form
    created = client.post(
        f"/orgs/{organisation.id}/studies/new",
        data={
            "name": "Feelings",
            "attest_not_employees_or_students": "on",
            "emotion_mode": "on",
            "csrf_token": csrf_token(client),
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert created.status_code == 303
    study = db_session.scalar(select(Study).where(Study.name == "Feelings"))
    assert study is not None and study.emotion_mode is True
    # Unticked: the browser sends nothing, which means off.
    edited = client.post(
        f"/studies/{study.id}/edit",
        data={"name": "Feelings", "csrf_token": csrf_token(client)},
        headers=HTML,
        follow_redirects=False,
    )
    assert edited.status_code == 303
    db_session.refresh(study)
    assert study.emotion_mode is False
    page = client.get(f"/studies/{study.id}", headers=HTML).text
    assert '<strong id="emotion-mode">off</strong>' in page


def test_the_disclosure_mark_is_saved_with_each_version(
    client: TestClient, db_session: Session, study: Study, integration: Integration
) -> None:
    base = f"/api/v1/studies/{study.id}/integrations/{integration.id}/consent/en"
    body = {"consent_text": "I agree to be filmed."}
    same = client.post(base, json=body, headers=csrf_headers(client))
    assert same.status_code == 200 and same.json()["version"] == 1
    assert same.json()["discloses_emotion"] is False
    # The same words, newly marked, are a new version: the mark is part of what was shown.
    marked = client.post(
        base, json={**body, "discloses_emotion": True}, headers=csrf_headers(client)
    )
    assert marked.status_code == 201 and marked.json()["version"] == 2
    assert marked.json()["discloses_emotion"] is True
    history = client.get(f"{base}/versions").json()
    assert [(v["version"], v["discloses_emotion"]) for v in history] == [(2, True), (1, False)]


def test_the_consent_editor_offers_the_default_disclosure_and_a_checkbox(
    client: TestClient, db_session: Session, study: Study, integration: Integration
) -> None:
    study.emotion_mode = True
    db_session.flush()
    url = f"/studies/{study.id}/integrations/{integration.id}/consent/fr"
    editor = client.get(url, headers=HTML).text
    assert "emotion mode" in editor and "?template=emotion" in editor
    prefilled = client.get(f"{url}?template=emotion", headers=HTML).text
    assert "Reconnaissance des émotions" in prefilled
    assert 'name="discloses_emotion"' in prefilled and " checked" in prefilled
    assert client.get(f"{url}?template=nothing", headers=HTML).status_code == 404

    saved = client.post(
        url,
        data={
            "consent_text": "Nous déduisons des émotions de votre visage.",
            "discloses_emotion": "on",
            "csrf_token": csrf_token(client),
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert saved.status_code == 303
    latest = db_session.scalar(
        select(ConsentText)
        .where(ConsentText.integration_id == integration.id, ConsentText.locale == "fr")
        .order_by(ConsentText.version.desc())
    )
    assert latest is not None and latest.version == 2 and latest.discloses_emotion
    page = client.get(f"/studies/{study.id}/integrations/{integration.id}", headers=HTML).text
    assert "no — required in emotion mode" in page  # English still lacks it
    assert "(fr, version" not in page and "fr, version 2" not in page


def test_an_analyst_cannot_switch_it_and_writes_need_the_csrf_token(
    client: TestClient, db_session: Session, settings: Settings, study: Study
) -> None:
    no_token = client.patch(f"/api/v1/studies/{study.id}", json={"emotion_mode": True})
    assert no_token.status_code == 403
    organisation = db_session.get(Organisation, study.organisation_id)
    analyst: User = make_user(
        db_session, email="analyst@example.org", role=Role.ANALYST, organisation=organisation
    )
    login(client, settings, analyst)
    assert _switch(client, study, True).status_code == 403  # type: ignore[attr-defined]
    assert client.get(f"/api/v1/studies/{study.id}/emotion-mode").status_code == 200
    db_session.refresh(study)
    assert study.emotion_mode is False
