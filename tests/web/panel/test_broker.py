"""The broker is only told about a clip after its commit, and a broker outage loses nothing."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus
from tests.support import panel, stored
from tests.support.committed import Committed, committed  # noqa: F401  (fixture)
from tests.support.factories import make_ad, make_integration, make_study
from tests.web.panel.conftest import QueuedIds
from web.app import create_app
from web.clips import sweep as sweeper
from web.clips.models import Clip
from web.clips.queue import enqueue_analysis
from web.panel import clip_api
from web.settings import Settings

API = panel.API


def _fielded_session(client: TestClient, db_session: Session) -> tuple[panel.Started, str]:
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    started = panel.start(client, integration)
    panel.consent(client, started)
    return started, panel.open_clip(client, started)


def test_broker_down_the_finish_succeeds_and_the_clip_is_sent_when_it_is_back(
    client: TestClient, db_session: Session, settings: Settings, queued_ids: QueuedIds
) -> None:
    started, clip_id = _fielded_session(client, db_session)
    live_broker = settings.broker_url
    settings.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    panel.upload(client, started, clip_id, [b"one", b"two"])
    response = client.post(
        f"{API}/clips/{clip_id}/finish", headers=started.headers, json={"chunk_count": 2}
    )
    assert response.status_code == 202 and response.json() == {"status": "queued"}
    clip = db_session.scalar(select(Clip).where(Clip.public_id == uuid.UUID(clip_id)))
    assert clip is not None and clip.status == ClipStatus.QUEUED and clip.enqueued_at is None
    # Chunks are kept for the analysis to come.
    assert stored.plain(db_session, settings, clip_id, 1) == b"two"
    assert queued_ids() == []

    # The broker is back: the periodic requeue job hands the clip over.
    settings.broker_url = live_broker

    def factory():
        return Session(bind=db_session.connection(), join_transaction_mode="create_savepoint")

    sent = sweeper.requeue_clips(
        settings=settings,
        factory=factory,
        send=lambda i: enqueue_analysis(settings, i),  # type: ignore[arg-type]
    )
    assert sent == 1 and queued_ids() == [clip.id]
    db_session.refresh(clip)
    assert clip.enqueued_at is not None
    # Nothing is sent twice for it.
    assert (
        sweeper.requeue_clips(
            settings=settings, factory=factory, send=lambda i: enqueue_analysis(settings, i)
        )
        == 0
    )  # type: ignore[arg-type]


def test_a_replayed_finish_retries_a_failed_hand_over(
    client: TestClient, db_session: Session, settings: Settings, queued_ids: QueuedIds
) -> None:
    started, clip_id = _fielded_session(client, db_session)
    live_broker = settings.broker_url
    settings.broker_url = "redis://127.0.0.1:1/0"
    panel.upload(client, started, clip_id, [b"one"])
    client.post(f"{API}/clips/{clip_id}/finish", headers=started.headers, json={"chunk_count": 1})
    settings.broker_url = live_broker
    again = client.post(
        f"{API}/clips/{clip_id}/finish", headers=started.headers, json={"chunk_count": 1}
    )
    assert again.status_code == 202 and len(queued_ids()) == 1


def test_the_task_is_sent_only_after_the_commit(
    committed: tuple[Committed, Session],  # noqa: F811
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    helper, session = committed
    study = make_study(session)
    make_ad(session, study)
    integration = make_integration(session, study)
    session.commit()
    seen: list[ClipStatus] = []

    def broker(settings: Settings, clip_id: int) -> bool:
        # What a worker on another connection would see at the moment the task is sent.
        with helper.factory() as other:
            clip = other.get(Clip, clip_id)
            seen.append(clip.status if clip else None)  # type: ignore[arg-type]
        return True

    monkeypatch.setattr(clip_api, "enqueue_analysis", broker)
    with TestClient(create_app(settings)) as client:
        started = panel.start(client, integration)
        panel.consent(client, started)
        clip_id = panel.open_clip(client, started)
        panel.upload(client, started, clip_id, [b"one"])
        finish = client.post(
            f"{API}/clips/{clip_id}/finish", headers=started.headers, json={"chunk_count": 1}
        )
    assert finish.status_code == 202
    assert seen == [ClipStatus.QUEUED]
