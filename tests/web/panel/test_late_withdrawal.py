"""A withdrawal the recorder could not send at once (offline, tab closed) arrives later, maybe
more than once, maybe after its token expired; a request racing an erasure is a 409, never a 500
(issue 20)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from candor.statuses import DeletionReason, SessionStatus
from tests.support import panel
from tests.support.factories import make_ad, make_integration, make_study
from web.clips.models import Clip, ClipSecond, DeletionAudit, PanelSession
from web.panel import chunks, tokens
from web.settings import Settings

API = panel.API
CHUNKS = [bytes([i]) * 3000 for i in range(4)]


def _uploading(client: TestClient, db_session: Session) -> tuple[panel.Started, str, str]:
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    started = panel.start(client, integration)
    receipt = panel.consent(client, started)["receipt_code"]
    clip_id = panel.open_clip(client, started)
    panel.upload(client, started, clip_id, CHUNKS)
    return started, clip_id, receipt


def _clip_row_id(db_session: Session, clip_public_id: str) -> int:
    row = db_session.scalar(select(Clip.id).where(Clip.public_id == clip_public_id))
    assert row is not None
    return row


def test_a_late_withdrawal_deletes_the_uploading_clip_as_withdrawn_and_a_resend_is_harmless(
    client: TestClient, db_session: Session
) -> None:
    started, clip_id, _receipt = _uploading(client, db_session)
    row_id = _clip_row_id(db_session, clip_id)
    # The page withdrew offline; the withdrawal arrives once the network is back, then again
    # from a reopened page that had not heard the first answer.
    for _ in range(2):
        answer = client.post(
            f"{API}/sessions/{started.session_id}/withdraw", headers=started.headers
        )
        assert (answer.status_code, answer.json()) == (200, {"status": "withdrawn"})
    db_session.expire_all()
    assert db_session.scalar(select(Clip).where(Clip.id == row_id)) is None
    audits = db_session.scalars(select(DeletionAudit).where(DeletionAudit.clip_id == row_id)).all()
    assert [(a.reason, a.bytes) for a in audits] == [
        (DeletionReason.WITHDRAWN, sum(map(len, CHUNKS)))
    ]
    curves = select(func.count()).select_from(ClipSecond).where(ClipSecond.clip_id == row_id)
    assert db_session.scalar(curves) == 0
    # Chunks racing the withdrawal: refused as a missing clip, not a server error.
    late = panel.put_chunk(client, started, clip_id, len(CHUNKS), b"x" * 3000)
    assert late.status_code in (404, 409), late.text


def test_a_kept_withdrawal_whose_token_expired_erases_by_its_receipt_code(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started, clip_id, receipt = _uploading(client, db_session)
    row_id = _clip_row_id(db_session, clip_id)
    session_row = db_session.scalar(select(PanelSession))
    assert session_row is not None
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - settings.session_token_ttl_seconds - 5)
    old_token, _ = tokens.session_token(settings, session_row.public_id)
    monkeypatch.setattr(time, "time", real_time)
    refused = client.post(
        f"{API}/sessions/{started.session_id}/withdraw",
        headers={"Authorization": f"Bearer {old_token}"},
    )
    assert refused.status_code == 401  # what the recorder answers by erasing with the receipt
    erased = client.post(f"{API}/erase", json={"receipt_code": receipt})
    assert (erased.status_code, erased.json()["erased"]) == (200, True)
    db_session.expire_all()
    assert db_session.scalar(select(Clip).where(Clip.id == row_id)) is None
    assert db_session.get(PanelSession, session_row.id).status == SessionStatus.WITHDRAWN  # type: ignore[union-attr]


def test_a_request_that_loses_a_race_with_an_erasure_is_409_not_500(
    client: TestClient, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, clip_id, _receipt = _uploading(client, db_session)

    def erased_meanwhile(**_kwargs: object) -> None:
        # What SQLAlchemy raises when the clip row it updates was deleted by another request.
        raise StaleDataError("UPDATE statement on table 'clip' expected to update 1 row(s)")

    monkeypatch.setattr(chunks, "store_chunk", erased_meanwhile)
    raced = panel.put_chunk(client, started, clip_id, len(CHUNKS), b"y" * 3000)
    assert raced.status_code == 409, raced.text
    assert raced.json()["code"] == "conflict"
    monkeypatch.undo()
    # Nothing of the lost request stayed in the transaction: the session goes on.
    state = client.get(f"{API}/clips/{clip_id}", headers=started.headers)
    assert state.status_code == 200 and state.json()["received"] == [0, 1, 2, 3]
