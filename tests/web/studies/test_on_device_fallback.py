"""On-device mode's honest fallback (issue 22): a browser that cannot read the face itself gets
the study's choice, never a silent change of mode. 'exit' (the default) offers nothing but the
polite exit; 'server' asks the panelist again with the server-mode consent text, and only their
agreement to it, after the on-device one and before anything was recorded, lets the session
send video. The browser half is tests/recorder/test_browser_ondevice_fallback.py."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.ondevice import MIME_TYPE, Fallback
from tests.support import panel
from tests.support.auth import csrf_headers
from tests.support.factories import add_consent_text, make_ad, make_integration
from web.clips.models import ConsentRecord, PanelSession
from web.studies.consent_defaults import DEFAULT_LOCALES, default_consent
from web.studies.integrations import current_consents, fallback_consents
from web.studies.models import ConsentText, Integration, Study


def _patch(client: TestClient, study: Study, **changes: Any) -> Any:
    return client.patch(f"/api/v1/studies/{study.id}", json=changes, headers=csrf_headers(client))


def _on_device(
    client: TestClient, db_session: Session, study: Study, fallback: str = "server"
) -> Integration:
    """A fieldable on-device study (its texts describe it) with the given fallback."""
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    for locale in ("en", "fr"):
        text = add_consent_text(db_session, integration, locale, f"Numbers only ({locale}).", 2)
        text.on_device = True
    db_session.flush()
    db_session.refresh(study)
    answer = _patch(client, study, on_device=True, on_device_fallback=fallback)
    assert answer.status_code == 200, answer.text
    db_session.expire_all()
    return integration


def _answer(
    client: TestClient, started: panel.Started, text: dict[str, Any], decision: str = "agree"
) -> Any:
    return client.post(
        f"{panel.API}/sessions/{started.session_id}/consent",
        headers=started.headers,
        json={
            "consent_text_id": text["consent_text_id"],
            "text_sha256": text["sha256"],
            "locale": text["locale"],
            "decision": decision,
        },
    )


def _open(client: TestClient, started: panel.Started, mime_type: str) -> Any:
    return client.post(
        f"{panel.API}/sessions/{started.session_id}/clips",
        headers=started.headers,
        json={"ad_id": started.ad_ids[0], "mime_type": mime_type},
    )


def test_the_fallback_is_a_study_setting_exit_by_default(
    client: TestClient, db_session: Session, study: Study
) -> None:
    assert client.get(f"/api/v1/studies/{study.id}").json()["on_device_fallback"] == "exit"
    bad = _patch(client, study, on_device_fallback="video")
    assert bad.status_code == 422
    integration = _on_device(client, db_session, study, fallback="exit")
    started = panel.start(client, integration)
    assert started.body["on_device"]["fallback"] == "exit"
    assert started.body["fallback_consent"] is None
    # Changeable at any time, even after panelists agreed: a panelist is asked again anyway.
    panel.consent(client, started)
    assert _patch(client, study, on_device_fallback="server").status_code == 200
    assert client.get(f"/api/v1/studies/{study.id}").json()["on_device_fallback"] == "server"


def test_switching_on_gives_each_integration_server_mode_texts_apart_from_its_own(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _on_device(client, db_session, study)
    fallbacks = fallback_consents(session=db_session, integration=integration)
    assert sorted(fallbacks) == sorted(DEFAULT_LOCALES)
    for locale, text in fallbacks.items():
        assert text.fallback and not text.on_device
        first = {"en": "cannot read your face", "fr": "ne peut pas lire votre visage"}[locale]
        assert first in text.consent_text.split("\n", 1)[0]
        deleted = {"en": "The video is deleted", "fr": "La vidéo est supprimée"}[locale]
        assert deleted in text.consent_text, "the ordinary server-mode text follows"
    # The integration's own texts are still the on-device ones (the fallback is never shown
    # as the consent text), and a new edit is numbered after the fallback's version.
    current = current_consents(session=db_session, integration=integration)
    assert all(text.on_device and not text.fallback for text in current.values())
    assert fallbacks["en"].version == 3
    # Asked twice, nothing doubles.
    assert _patch(client, study, on_device_fallback="server").status_code == 200
    count = db_session.scalars(
        select(ConsentText).where(
            ConsentText.integration_id == integration.id, ConsentText.fallback.is_(True)
        )
    ).all()
    assert len(count) == len(DEFAULT_LOCALES)
    plain = default_consent("en", organisation="x", contact="y", fallback=True)
    assert not plain.on_device


def test_agreeing_to_the_server_text_switches_the_session_to_video(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _on_device(client, db_session, study)
    started = panel.start(client, integration, locale="fr")
    fallback = started.body["fallback_consent"]
    assert started.body["on_device"]["fallback"] == "server"
    assert fallback["locale"] == "fr" and "ne peut pas lire votre visage" in fallback["text"]
    # Never first: the panelist agrees to the on-device text, then is asked again.
    early = _answer(client, started, fallback)
    assert early.status_code == 400 and "after agreeing" in early.json()["detail"]
    agreed = panel.consent(client, started)
    again = _answer(client, started, fallback)
    assert again.status_code == 200, again.text
    assert again.json()["receipt_code"] == agreed["receipt_code"]
    session_row = db_session.scalar(select(PanelSession))
    assert session_row is not None
    db_session.refresh(session_row)
    assert session_row.on_device is False
    records = db_session.scalars(
        select(ConsentRecord).where(ConsentRecord.session_id == session_row.id)
    ).all()
    assert [r.decision.value for r in records] == ["agree", "agree"]
    assert records[1].consent_text_id == fallback["consent_text_id"]
    # Server mode now: video in, face records out.
    assert _open(client, started, MIME_TYPE).status_code == 415
    assert _open(client, started, "video/webm").status_code == 200
    # Idempotent, and never taken back by a "no" (withdraw is the way out); a reload resumes
    # it in server mode with the text agreed to.
    assert _answer(client, started, fallback).status_code == 200
    assert _answer(client, started, fallback, "decline").status_code == 409
    resumed = panel.start(client, integration, locale="fr", resume_token=started.resume_token)
    assert resumed.session_id == started.session_id
    assert resumed.body["on_device"] is None and resumed.body["fallback_consent"] is None
    assert resumed.body["consent"]["consent_text_id"] == fallback["consent_text_id"]
    assert panel.consent(client, resumed)["status"] == "consented"


def test_declining_the_server_text_keeps_the_session_on_the_device(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _on_device(client, db_session, study)
    started = panel.start(client, integration)
    panel.consent(client, started)
    declined = _answer(client, started, started.body["fallback_consent"], "decline")
    assert declined.status_code == 200 and declined.json()["status"] == "consented"
    session_row = db_session.scalar(select(PanelSession))
    assert session_row is not None
    db_session.refresh(session_row)
    assert session_row.on_device is True
    assert _open(client, started, "video/webm").status_code == 415
    ended = client.post(
        f"{panel.API}/sessions/{started.session_id}/end",
        headers=started.headers,
        json={"status": "no_camera"},
    )
    assert ended.status_code == 200 and ended.json()["status"] == "no_camera"


def test_no_switch_when_the_study_stopped_offering_it_or_records_were_sent(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _on_device(client, db_session, study)
    first = panel.start(client, integration, respondent_id="r-1")
    panel.consent(client, first)
    assert _patch(client, study, on_device_fallback="exit").status_code == 200
    refused = _answer(client, first, first.body["fallback_consent"])
    assert refused.status_code == 409 and refused.json()["code"] == "no_fallback"

    assert _patch(client, study, on_device_fallback="server").status_code == 200
    second = panel.start(client, integration, respondent_id="r-2")
    panel.consent(client, second)
    assert _open(client, second, MIME_TYPE).status_code == 200  # face records under way
    refused = _answer(client, second, second.body["fallback_consent"])
    assert refused.status_code == 409 and "already sent face records" in refused.json()["detail"]
    for row in db_session.scalars(select(PanelSession)):
        db_session.refresh(row)
        assert row.on_device is True


def test_a_server_mode_study_never_takes_a_fallback_text(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _on_device(client, db_session, study)
    fallback = fallback_consents(session=db_session, integration=integration)["en"]
    assert _patch(client, study, on_device=False).status_code == 200
    for text in current_consents(session=db_session, integration=integration).values():
        text.on_device = False
    db_session.flush()
    started = panel.start(client, integration)
    assert started.body["on_device"] is None and started.body["fallback_consent"] is None
    shown = {
        "consent_text_id": fallback.id,
        "sha256": fallback.sha256,
        "locale": fallback.locale,
    }
    refused = _answer(client, started, shown)
    assert refused.status_code == 400
    panel.consent(client, started)
    refused = _answer(client, started, shown)
    assert refused.status_code == 400 and "no fallback" in refused.json()["detail"]
    assert Fallback("server") is Fallback.SERVER


def test_the_study_page_and_forms_show_the_fallback(
    client: TestClient, db_session: Session, study: Study
) -> None:
    _on_device(client, db_session, study, fallback="exit")
    page = client.get(f"/studies/{study.id}").text
    assert "ends politely without recording" in page
    form = client.get(f"/studies/{study.id}/edit").text
    assert 'name="on_device_fallback"' in form and '<option value="exit" selected' in form
    assert _patch(client, study, on_device_fallback="server").status_code == 200
    page = client.get(f"/studies/{study.id}").text
    assert "is asked again whether its video may be analysed on the server" in page


def test_the_integration_page_shows_the_fallback_texts(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _on_device(client, db_session, study)
    page = client.get(f"/studies/{study.id}/integrations/{integration.id}").text
    assert 'data-fallback-text="en"' in page and 'data-fallback-text="fr"' in page
    assert "Your browser cannot read your face on this device" in page
    assert "asks them again" in page


def test_the_designer_edits_the_fallback_text_as_a_new_version(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _on_device(client, db_session, study)
    base = f"/api/v1/studies/{study.id}/integrations/{integration.id}/fallback-consent"
    before = client.get(base).json()
    assert sorted(before) == ["en", "fr"] and before["en"]["fallback"] is True
    words = "Your browser cannot read your face here. May we send the video to our server?"
    saved = client.post(f"{base}/en", json={"consent_text": words}, headers=csrf_headers(client))
    assert saved.status_code == 201, saved.text
    body = saved.json()
    assert body["fallback"] is True and body["on_device"] is False
    assert body["version"] == before["en"]["version"] + 1  # numbered with the locale's texts
    # Unchanged: no new version (200, the same one).
    same = client.post(f"{base}/en", json={"consent_text": words}, headers=csrf_headers(client))
    assert same.status_code == 200 and same.json()["id"] == body["id"]
    versions = client.get(f"{base}/en/versions").json()
    assert [v["version"] for v in versions] == [body["version"], before["en"]["version"]]
    # The integration's own consent text is untouched, and a panelist is asked with the edit.
    consents = client.get(
        f"/api/v1/studies/{study.id}/integrations/{integration.id}/consent"
    ).json()
    assert consents["en"]["consent_text"] == "Numbers only (en)."
    started = panel.start(client, integration, locale="en")
    assert started.body["fallback_consent"]["text"] == words
    assert started.body["fallback_consent"]["consent_text_id"] == body["id"]


def test_a_fallback_text_edit_is_checked_like_a_consent_text(
    client: TestClient, db_session: Session, study: Study
) -> None:
    integration = _on_device(client, db_session, study)
    base = f"/api/v1/studies/{study.id}/integrations/{integration.id}/fallback-consent"
    headers = csrf_headers(client)
    empty = client.post(f"{base}/en", json={"consent_text": "   "}, headers=headers)
    assert empty.status_code == 422
    long = client.post(f"{base}/en", json={"consent_text": "x" * 20_001}, headers=headers)
    assert long.status_code == 422
    marked = client.post(
        f"{base}/en", json={"consent_text": "Numbers only.", "on_device": True}, headers=headers
    )
    assert marked.status_code == 400 and "on-device" in marked.json()["detail"]
    no_main = client.post(f"{base}/de", json={"consent_text": "Video?"}, headers=headers)
    assert no_main.status_code == 400 and "consent text in 'de' first" in no_main.json()["detail"]
    bad_locale = client.post(f"{base}/english", json={"consent_text": "Video?"}, headers=headers)
    assert bad_locale.status_code == 422
    # A study that uploads video has no fallback text to edit.
    assert _patch(client, study, on_device=False).status_code == 200
    refused = client.post(f"{base}/en", json={"consent_text": "Video?"}, headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "not_on_device"
    page = f"/studies/{study.id}/integrations/{integration.id}/fallback/en"
    assert client.get(page).status_code == 404


def test_the_fallback_text_is_edited_on_its_page(
    client: TestClient, db_session: Session, study: Study, settings: Any
) -> None:
    from tests.support.auth import csrf_token, login, make_user
    from web.accounts.models import Organisation, Role

    integration = _on_device(client, db_session, study)
    integration_page = f"/studies/{study.id}/integrations/{integration.id}"
    assert f'href="{integration_page}/fallback/en"' in client.get(integration_page).text
    form = client.get(f"{integration_page}/fallback/fr").text
    assert "Fallback text in" in form and "ne peut pas lire votre visage" in form
    assert 'name="on_device"' not in form, "the fallback text never describes on-device mode"
    token = csrf_token(client)
    empty = client.post(
        f"{integration_page}/fallback/fr", data={"consent_text": " ", "csrf_token": token}
    )
    assert empty.status_code == 400 and "Fallback text in" in empty.text
    saved = client.post(
        f"{integration_page}/fallback/fr",
        data={"consent_text": "Votre vidéo serait envoyée.", "csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    db_session.expire_all()
    assert (
        fallback_consents(session=db_session, integration=integration)["fr"].consent_text
        == "Votre vidéo serait envoyée."
    )
    # An analyst reads it and may not edit it.
    organisation = db_session.get(Organisation, study.organisation_id)
    analyst = make_user(
        db_session, email="analyst@example.org", role=Role.ANALYST, organisation=organisation
    )
    login(client, settings, analyst)
    page = client.get(integration_page).text
    assert "Votre vidéo serait envoyée." in page and "/fallback/fr" not in page
    assert client.get(f"{integration_page}/fallback/fr").status_code == 403
    denied = client.post(
        f"{integration_page}/fallback/fr",
        data={"consent_text": "Non.", "csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert denied.status_code == 403
