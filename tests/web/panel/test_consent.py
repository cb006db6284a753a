"""Consent records: the exact text version, its hash, locale, decision, time; no upload without."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.statuses import ConsentDecision, SessionStatus
from tests.support import panel
from tests.support.factories import make_ad, make_clip, make_integration, make_study
from web.clips.models import Chunk, ConsentRecord, PanelSession
from web.settings import Settings
from web.studies.models import Integration

API = panel.API


def _integration(db_session: Session) -> Integration:
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    return integration


def _consent_body(started: panel.Started, **changes: object) -> dict[str, object]:
    text = started.body["consent"]
    body: dict[str, object] = {
        "consent_text_id": text["consent_text_id"],
        "text_sha256": text["sha256"],
        "locale": text["locale"],
        "decision": "agree",
    }
    body.update(changes)
    return body


def test_agree_records_the_exact_text_and_returns_a_receipt(
    client: TestClient, db_session: Session
) -> None:
    started = panel.start(client, _integration(db_session), locale="fr")
    answer = panel.consent(client, started)
    assert answer["status"] == "consented"
    assert len(answer["receipt_code"]) == 19
    record = db_session.scalar(select(ConsentRecord))
    assert record is not None
    assert record.consent_text_id == started.body["consent"]["consent_text_id"]
    assert record.text_sha256 == started.body["consent"]["sha256"]
    assert record.locale == "fr"
    assert record.decision == ConsentDecision.AGREE
    assert record.decided_at is not None
    # Agreeing again is harmless and shows the same receipt.
    assert panel.consent(client, started)["receipt_code"] == answer["receipt_code"]
    assert len(db_session.scalars(select(ConsentRecord)).all()) == 1


def test_a_hash_that_does_not_match_the_text_version_is_400(
    client: TestClient, db_session: Session
) -> None:
    started = panel.start(client, _integration(db_session))
    url = f"{API}/sessions/{started.session_id}/consent"
    wrong_hash = client.post(
        url, headers=started.headers, json=_consent_body(started, text_sha256="0" * 64)
    )
    assert wrong_hash.status_code == 400 and "sha256" in wrong_hash.json()["detail"]
    wrong_locale = client.post(
        url, headers=started.headers, json=_consent_body(started, locale="fr")
    )
    assert wrong_locale.status_code == 400
    other = _integration(db_session)
    other_text = other.consent_texts[0]
    foreign = client.post(
        url,
        headers=started.headers,
        json=_consent_body(started, consent_text_id=other_text.id, text_sha256=other_text.sha256),
    )
    assert foreign.status_code == 400
    assert db_session.scalars(select(ConsentRecord)).all() == []


def test_decline_ends_the_session_and_refuses_uploads(
    client: TestClient, db_session: Session
) -> None:
    started = panel.start(client, _integration(db_session))
    assert panel.consent(client, started, "decline") == {"status": "declined"}
    response = client.post(
        f"{API}/sessions/{started.session_id}/clips",
        headers=started.headers,
        json={"ad_id": started.ad_ids[0], "mime_type": "video/webm"},
    )
    assert response.status_code == 403
    # Declining after agreeing is not a thing: withdrawal is.
    again = panel.start(client, _integration(db_session))
    panel.consent(client, again)
    late = client.post(
        f"{API}/sessions/{again.session_id}/consent",
        headers=again.headers,
        json=_consent_body(again, decision="decline"),
    )
    assert late.status_code == 409 and "withdraw" in late.json()["detail"]


def test_no_clip_without_an_agree_record(client: TestClient, db_session: Session) -> None:
    started = panel.start(client, _integration(db_session))
    response = client.post(
        f"{API}/sessions/{started.session_id}/clips",
        headers=started.headers,
        json={"ad_id": started.ad_ids[0], "mime_type": "video/webm"},
    )
    assert response.status_code == 403
    assert "consent" in response.json()["detail"]


def test_no_chunk_is_kept_without_an_agree_record(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    """Even a session marked consented by mistake stores nothing without the agree record."""
    rows = make_clip(db_session)
    rows.panel_session.status = SessionStatus.CONSENTED
    db_session.flush()
    from web.panel.tokens import session_token

    token, _ = session_token(settings, rows.panel_session.public_id)
    response = client.put(
        f"{API}/clips/{rows.clip.public_id}/chunks/0",
        headers={"Authorization": f"Bearer {token}"},
        content=b"\x1a\x45\xdf\xa3 video bytes",
    )
    assert response.status_code == 403
    assert db_session.scalars(select(Chunk)).all() == []
    leftovers = (
        [p for p in settings.clips_dir.rglob("*") if p.is_file()]
        if settings.clips_dir.exists()
        else []
    )
    assert leftovers == []


def test_consent_on_an_ended_session_is_409(client: TestClient, db_session: Session) -> None:
    started = panel.start(client, _integration(db_session))
    panel.consent(client, started)
    client.post(f"{API}/sessions/{started.session_id}/withdraw", headers=started.headers)
    response = client.post(
        f"{API}/sessions/{started.session_id}/consent",
        headers=started.headers,
        json=_consent_body(started),
    )
    assert response.status_code == 409
    row = db_session.scalar(select(PanelSession))
    assert row is not None and row.status == SessionStatus.WITHDRAWN
