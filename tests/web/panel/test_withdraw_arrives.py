"""A withdrawal arrives whatever is down (PRODUCT.md, privacy invariants): with the broker down
the server erases at once (withdrawal never goes through the broker); with the database down it
answers a 5xx, which the recorder keeps and sends again (withdrawals.js: a 5xx is never final);
with the clip store refusing, the erasure is recorded and committed and the sweeper removes the
video later. And it is bound to the session's own token: no other session's token withdraws."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from candor.statuses import DeletionReason, SessionStatus
from tests.support import panel, stored
from tests.support.factories import make_ad, make_integration, make_study
from web.app import create_app
from web.clips import storage
from web.clips import sweep as sweeper
from web.clips.models import Clip, DeletionAudit, PanelSession
from web.deps import get_session
from web.panel import tokens
from web.settings import Settings

API = panel.API
CHUNKS = [bytes([i]) * 3000 for i in range(3)]
DEAD_REDIS = "redis://127.0.0.1:1/0"
DEAD_DATABASE = "postgresql+psycopg://postgres:secret@127.0.0.1:1/none"


def _recording(
    client: TestClient, db_session: Session, respondent: str = "R_1"
) -> tuple[panel.Started, str]:
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    started = panel.start(client, integration, respondent_id=respondent)
    panel.consent(client, started)
    clip_id = panel.open_clip(client, started)
    panel.upload(client, started, clip_id, CHUNKS)
    return started, clip_id


def _clip_row(db_session: Session, clip_id: str) -> int:
    row = db_session.scalar(select(Clip.id).where(Clip.public_id == uuid.UUID(clip_id)))
    assert row is not None
    return row


def _status(db_session: Session, started: panel.Started) -> SessionStatus:
    db_session.expire_all()
    row = db_session.scalar(
        select(PanelSession).where(PanelSession.public_id == uuid.UUID(started.session_id))
    )
    assert row is not None
    return row.status


@pytest.fixture
def broker_down(settings: Settings, db_session: Session) -> Iterator[TestClient]:
    """The same app and database, its broker unreachable."""
    app = create_app(settings.model_copy(update={"broker_url": DEAD_REDIS}))

    def _session() -> Iterator[Session]:
        yield db_session

    app.dependency_overrides[get_session] = _session
    with TestClient(app) as down:
        yield down


def test_with_the_broker_down_a_withdrawal_erases_at_once(
    client: TestClient, broker_down: TestClient, db_session: Session, settings: Settings
) -> None:
    started, clip_id = _recording(client, db_session)
    row = _clip_row(db_session, clip_id)
    assert stored.has_video(settings, clip_id)
    answer = broker_down.post(
        f"{API}/sessions/{started.session_id}/withdraw", headers=started.headers
    )
    assert (answer.status_code, answer.json()) == (200, {"status": "withdrawn"}), answer.text
    assert _status(db_session, started) == SessionStatus.WITHDRAWN
    assert db_session.get(Clip, row) is None
    assert not stored.has_video(settings, clip_id)
    reasons = db_session.scalars(select(DeletionAudit.reason).where(DeletionAudit.clip_id == row))
    assert list(reasons) == [DeletionReason.WITHDRAWN]


def test_with_the_database_down_a_withdrawal_is_a_5xx_the_recorder_sends_again(
    settings: Settings,
) -> None:
    """Never a 4xx: the recorder drops a withdrawal the server refused for good (withdrawals.js
    isFinal), and keeps sending one the server could not take."""
    session_id = uuid.uuid4()
    token, _ = tokens.session_token(settings, session_id)
    down = settings.model_copy(update={"database_url": DEAD_DATABASE})
    with TestClient(create_app(down), raise_server_exceptions=False) as client:
        answer = client.post(
            f"{API}/sessions/{session_id}/withdraw", headers={"Authorization": f"Bearer {token}"}
        )
        beacon = client.post(
            f"{API}/sessions/{session_id}/presence",
            content=f'{{"token": "{token}", "seq": 1, "present": false, "withdraw": true}}',
            headers={"Content-Type": "text/plain;charset=UTF-8"},
        )
    for refused in (answer, beacon):
        assert 500 <= refused.status_code < 600, refused.text
        assert "secret" not in refused.text


def test_a_video_the_store_would_not_remove_is_erased_by_the_sweeper(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The withdrawal is committed (key destroyed, audit row, clip row gone) even when the
    store refuses to delete; the stored chunks, noise without their key, go at the next sweep."""
    started, clip_id = _recording(client, db_session)
    row = _clip_row(db_session, clip_id)

    def store_down(*_args: object, **_kwargs: object) -> int:
        raise OSError("the clip store is unreachable")

    monkeypatch.setattr(storage, "remove_clip", store_down)
    answer = client.post(f"{API}/sessions/{started.session_id}/withdraw", headers=started.headers)
    assert answer.status_code == 200, answer.text
    assert _status(db_session, started) == SessionStatus.WITHDRAWN
    assert db_session.get(Clip, row) is None
    assert stored.has_video(settings, clip_id), "the store refused: the chunks are still there"
    monkeypatch.undo()
    factory = sessionmaker(bind=db_session.connection(), join_transaction_mode="create_savepoint")
    report = sweeper.sweep(settings=settings, factory=factory)
    assert report.strays == 1
    assert not stored.has_video(settings, clip_id)
    reasons = db_session.scalars(
        select(DeletionAudit.reason).where(DeletionAudit.clip_id == row)
    ).all()
    assert list(reasons) == [DeletionReason.WITHDRAWN]


def test_another_sessions_token_cannot_withdraw_a_session(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    victim, victim_clip = _recording(client, db_session, respondent="R_victim")
    other, _ = _recording(client, db_session, respondent="R_other")
    path = f"{API}/sessions/{victim.session_id}"
    by_header = client.post(f"{path}/withdraw", headers=other.headers)
    by_beacon = client.post(
        f"{path}/presence",
        content=f'{{"token": "{other.token}", "seq": 1, "present": false, "withdraw": true}}',
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    )
    forged, _ = tokens.session_token(
        settings.model_copy(update={"secret_key": "another-secret-key-0123456789abcdef"}),
        uuid.UUID(victim.session_id),
    )
    by_forged = client.post(f"{path}/withdraw", headers={"Authorization": f"Bearer {forged}"})
    assert [r.status_code for r in (by_header, by_beacon, by_forged)] == [403, 403, 401]
    assert _status(db_session, victim) == SessionStatus.CONSENTED
    assert stored.has_video(settings, victim_clip)
