"""Resuming needs the secret only the panelist's browser holds: anyone else who knows the
respondent id and the integration's public key gets a fresh session, learns nothing of the live
one (no receipt, no clip, no recorded ads), and the live one is superseded, its video deleted."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from candor.statuses import SessionStatus
from tests.support import panel
from tests.support.factories import give_signing_secret, make_ad, make_integration, make_study
from web.clips.models import Clip, DeletionAudit, PanelSession
from web.panel import tokens
from web.settings import Settings
from web.studies.models import Integration

API = panel.API


def _integration(db_session: Session) -> Integration:
    study = make_study(db_session)
    make_ad(db_session, study)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    return integration


def _row(db_session: Session, started: panel.Started) -> PanelSession:
    db_session.expire_all()
    row = db_session.scalar(
        select(PanelSession).where(PanelSession.public_id == uuid.UUID(started.session_id))
    )
    assert row is not None
    return row


def _recording(
    client: TestClient, integration: Integration, secret: str | None = None
) -> tuple[panel.Started, str, str]:
    """R_42 agreed (receipt shown) and is recording the first ad: two chunks arrived."""
    first = panel.start(client, integration, "R_42", secret=secret)
    receipt = panel.consent(client, first)["receipt_code"]
    clip_id = panel.open_clip(client, first)
    panel.upload(client, first, clip_id, [b"zero", b"one"])
    return first, receipt, clip_id


@pytest.mark.parametrize("token", [None, "not-the-token", "wrong"], ids=["none", "wrong", "short"])
def test_a_start_without_the_token_is_a_fresh_start_that_reveals_nothing_of_the_live_session(
    client: TestClient, db_session: Session, token: str | None
) -> None:
    integration = _integration(db_session)
    first, receipt, clip_id = _recording(client, integration)

    other = panel.start(client, integration, "R_42", resume_token=token)
    assert other.session_id != first.session_id
    assert other.body["recorded_ads"] == []
    assert other.resume_token != first.resume_token
    # Exactly the answer of a first visit: nothing of the live session in it.
    assert set(other.body) == set(first.body)
    for secret in (receipt, first.session_id, clip_id, first.token, first.resume_token):
        assert secret not in str(other.body)
    # Its consent gives a receipt of its own, never the earlier one.
    assert panel.consent(client, other)["receipt_code"] not in (receipt, None)


def test_the_superseded_session_is_erased_and_its_recorder_is_refused(
    client: TestClient, db_session: Session
) -> None:
    integration = _integration(db_session)
    secret = give_signing_secret(db_session, integration)
    first, receipt, clip_id = _recording(client, integration, secret)

    panel.start(client, integration, "R_42", secret=secret)  # signed: it may supersede
    old = _row(db_session, first)
    assert (old.status, old.superseded, old.respondent_hash) == (SessionStatus.WITHDRAWN, True, "")
    assert old.resume_hash is None
    assert (
        db_session.scalar(select(func.count()).select_from(Clip).where(Clip.session_id == old.id))
        == 0
    )
    reasons = db_session.scalars(
        select(DeletionAudit.reason).where(DeletionAudit.session_id == old.id)
    )
    assert list(reasons) == ["superseded"], "its video is deleted, with an audit row"
    # The old page's recorder can do nothing more, and gets its receipt from nowhere.
    refused = panel.put_chunk(client, first, clip_id, 2, b"two")
    assert refused.status_code in (403, 404)
    consent = client.post(
        f"{API}/sessions/{first.session_id}/consent",
        headers=first.headers,
        json={
            "consent_text_id": first.body["consent"]["consent_text_id"],
            "text_sha256": first.body["consent"]["sha256"],
            "locale": "en",
            "decision": "agree",
        },
    )
    assert consent.status_code == 409 and receipt not in consent.text
    # ... and the old resume token resumes nothing any more: a fresh start again.
    again = panel.start(client, integration, "R_42", resume_token=first.resume_token, secret=secret)
    assert again.session_id != first.session_id
    live = db_session.scalars(
        select(PanelSession.status).where(
            PanelSession.integration_id == integration.id,
            PanelSession.status.in_((SessionStatus.STARTED, SessionStatus.CONSENTED)),
        )
    )
    assert list(live) == [SessionStatus.STARTED], "one live session per respondent"


def test_a_token_resumes_only_its_own_respondents_session(
    client: TestClient, db_session: Session
) -> None:
    integration = _integration(db_session)
    first, _receipt, _clip = _recording(client, integration)
    stranger = panel.start(client, integration, "R_43", resume_token=first.resume_token)
    assert stranger.session_id != first.session_id
    assert _row(db_session, first).status == SessionStatus.CONSENTED, "R_42's session untouched"


def test_the_token_is_stored_only_as_a_keyed_hash(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    integration = _integration(db_session)
    started = panel.start(client, integration, "R_42")
    token = started.resume_token
    assert len(token) >= 43, "256 random bits"
    assert _row(db_session, started).resume_hash == tokens.resume_hash(settings, token)
    connection = db_session.connection()
    for table in inspect(connection).get_table_names():
        for column in inspect(connection).get_columns(table):
            if "CHAR" not in str(column["type"]).upper() and "TEXT" not in str(column["type"]):
                continue
            hits = connection.execute(
                text(f'SELECT count(*) FROM "{table}" WHERE "{column["name"]}" LIKE :t'),
                {"t": f"%{token}%"},
            ).scalar()
            assert hits == 0, f"raw resume token found in {table}.{column['name']}"


def test_a_declined_session_resumes_with_its_token_and_agreeing_supersedes_a_fresh_one(
    client: TestClient, db_session: Session
) -> None:
    """The panelist said "no thanks" by mistake; meanwhile someone started R_42 without the
    token (and unsigned). The panelist's own browser comes back and agrees: their signed
    session is the one that stays."""
    integration = _integration(db_session)
    secret = give_signing_secret(db_session, integration)
    first = panel.start(client, integration, "R_42", secret=secret)
    panel.consent(client, first, "decline")
    intruder = panel.start(client, integration, "R_42")
    assert intruder.session_id != first.session_id

    again = panel.start(client, integration, "R_42", resume_token=first.resume_token)
    assert again.session_id == first.session_id
    assert panel.consent(client, again)["status"] == "consented"
    assert _row(db_session, first).status == SessionStatus.CONSENTED
    gone = _row(db_session, intruder)
    assert (gone.status, gone.superseded) == (SessionStatus.WITHDRAWN, True)


def test_a_malformed_resume_token_is_a_422(client: TestClient, db_session: Session) -> None:
    integration = _integration(db_session)
    for bad in ("", "has space", "x" * 101, "é"):
        response = client.post(
            f"{API}/sessions",
            json={"integration": integration.public_key, "respondent_id": "r", "resume_token": bad},
        )
        assert response.status_code == 422, bad
