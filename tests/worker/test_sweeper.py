"""The sweeper deletes any video older than the TTL whatever its state, strays too; the requeue job
hands queued clips to the broker again."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from candor.statuses import ClipStatus, DeletionReason
from tests.conftest import TEST_REDIS_URL
from tests.support import stored
from tests.support.stack import forget_queue
from tests.worker.conftest import uploaded_clip
from web.clips import storage
from web.clips import sweep as sweeper
from web.clips.models import Clip, DeletionAudit
from web.clips.queue import enqueue_analysis
from web.db import utcnow
from web.settings import Settings


def _age(db_session: Session, clip: Clip, seconds: float) -> None:
    clip.created_at = utcnow() - timedelta(seconds=seconds)
    db_session.flush()


def _audit_reasons(db_session: Session) -> dict[int | None, list[str]]:
    found: dict[int | None, list[str]] = {}
    for row in db_session.scalars(select(DeletionAudit).order_by(DeletionAudit.id)):
        found.setdefault(row.clip_id, []).append(row.reason)
    return found


def test_old_clips_lose_their_video_whatever_their_state(
    db_session: Session, settings: Settings, worker_factory: sessionmaker[Session]
) -> None:
    ttl = settings.clip_ttl_seconds
    uploading = uploaded_clip(db_session, settings, [b"a", b"b"], status=ClipStatus.UPLOADING)
    queued = uploaded_clip(db_session, settings, [b"c"], status=ClipStatus.QUEUED)
    fresh = uploaded_clip(db_session, settings, [b"d"], status=ClipStatus.UPLOADING)
    for up in (uploading, queued):
        _age(db_session, up.rows.clip, ttl + 5)

    report = sweeper.sweep(settings=settings, factory=worker_factory)

    assert report.expired == 2
    db_session.expire_all()
    assert db_session.get(Clip, uploading.rows.clip.id).status == ClipStatus.ABANDONED  # type: ignore[union-attr]
    failed = db_session.get(Clip, queued.rows.clip.id)
    assert failed is not None and failed.status == ClipStatus.FAILED
    assert "TTL" in (failed.failure_reason or "")
    for up in (uploading, queued):
        assert not stored.has_video(settings, up.rows.clip.public_id)
    assert stored.has_video(settings, fresh.rows.clip.public_id)
    reasons = _audit_reasons(db_session)
    assert reasons[uploading.rows.clip.id] == [DeletionReason.ABANDONED]
    assert reasons[queued.rows.clip.id] == [DeletionReason.EXPIRED]
    assert fresh.rows.clip.id not in reasons
    # A second pass finds nothing more to do.
    again = sweeper.sweep(settings=settings, factory=worker_factory)
    assert (again.expired, again.leftovers, again.strays) == (0, 0, 0)


def test_stray_files_and_leftovers_are_removed_and_audited(
    db_session: Session, settings: Settings, worker_factory: sessionmaker[Session]
) -> None:
    stray = settings.clips_dir / str(uuid.uuid4())
    stray.mkdir(parents=True)
    (stray / "000000.part").write_bytes(b"orphan video")
    leftover = uploaded_clip(db_session, settings, [b"left"], status=ClipStatus.DONE)
    leftover.rows.clip.video_deleted_at = utcnow() - timedelta(minutes=5)
    incoming = settings.clips_dir / ".incoming"  # an older version's spool
    incoming.mkdir(parents=True)
    old_temp, new_temp = incoming / "old.tmp", incoming / "new.tmp"
    old_temp.write_bytes(b"half an upload")
    new_temp.write_bytes(b"upload in progress")
    past = time.time() - settings.clip_ttl_seconds - 5
    os.utime(old_temp, (past, past))
    not_ours = settings.clips_dir / "README"
    not_ours.mkdir()
    db_session.flush()

    report = sweeper.sweep(settings=settings, factory=worker_factory)

    assert (report.leftovers, report.strays) == (1, 2)
    assert not stray.exists() and not old_temp.exists()
    assert new_temp.exists() and not_ours.exists()
    assert not stored.has_video(settings, leftover.rows.clip.public_id)
    reasons = _audit_reasons(db_session)
    assert reasons[None] == [DeletionReason.SWEPT, DeletionReason.SWEPT]
    assert reasons[leftover.rows.clip.id] == [DeletionReason.SWEPT]
    sizes = sorted(r.bytes for r in db_session.scalars(select(DeletionAudit)))
    assert sizes == sorted([len(b"orphan video"), len(b"half an upload"), len(b"left")])


def test_a_spool_left_by_a_killed_web_process_goes_once_idle(
    db_session: Session, settings: Settings, worker_factory: sessionmaker[Session]
) -> None:
    """A web process killed mid-chunk leaves its spooled body (2 MiB, past the in-memory limit);
    it was kept until the clip TTL. Now it goes once unwritten for the upload idle time."""
    incoming = settings.clips_dir / ".incoming"  # where older versions (and a killed one) spooled
    incoming.mkdir(parents=True)
    dead, live = incoming / f"{uuid.uuid4().hex}.tmp", incoming / f"{uuid.uuid4().hex}.tmp"
    dead.write_bytes(os.urandom(2 * 1024 * 1024))
    live.write_bytes(b"still arriving")
    ad_spool = settings.ads_dir / ".incoming"
    ad_spool.mkdir(parents=True)
    dead_ad = ad_spool / "upload-1.tmp"
    dead_ad.write_bytes(b"half an ad")
    idle = time.time() - settings.upload_idle_seconds - 5
    assert settings.upload_idle_seconds + 5 < settings.clip_ttl_seconds
    for path in (dead, dead_ad):
        os.utime(path, (idle, idle))

    report = sweeper.sweep(settings=settings, factory=worker_factory)

    assert not dead.exists() and not dead_ad.exists()
    assert live.exists()
    assert report.strays == 2
    audits = db_session.scalars(select(DeletionAudit)).all()
    assert [(a.reason, a.bytes) for a in audits] == [(DeletionReason.SWEPT, 2 * 1024 * 1024)]


@pytest.fixture
def redis_queue(settings: Settings) -> Iterator[Settings]:
    queued = settings.model_copy(update={"task_queue": f"candor-test-{uuid.uuid4().hex[:12]}"})
    yield queued
    forget_queue(TEST_REDIS_URL, queued.task_queue)


def _queued_ids(settings: Settings) -> list[int]:
    raw = redis.Redis.from_url(TEST_REDIS_URL).lrange(settings.task_queue, 0, -1)
    return sorted(json.loads(base64.b64decode(json.loads(m)["body"]))[0][0] for m in raw)


def test_requeue_hands_over_clips_the_broker_never_got_or_lost(
    db_session: Session, redis_queue: Settings, worker_factory: sessionmaker[Session]
) -> None:
    settings = redis_queue
    never_sent = uploaded_clip(db_session, settings, [b"a"], status=ClipStatus.QUEUED)
    recently_sent = uploaded_clip(db_session, settings, [b"b"], status=ClipStatus.QUEUED)
    recently_sent.rows.clip.enqueued_at = utcnow()
    lost_long_ago = uploaded_clip(db_session, settings, [b"c"], status=ClipStatus.QUEUED)
    lost_long_ago.rows.clip.enqueued_at = utcnow() - timedelta(
        seconds=settings.requeue_after_seconds + 1
    )
    dead_worker = uploaded_clip(db_session, settings, [b"d"], status=ClipStatus.PROCESSING)
    dead_worker.rows.clip.processing_started_at = utcnow() - timedelta(
        seconds=settings.analysis_lease_seconds + 1
    )
    live_worker = uploaded_clip(db_session, settings, [b"e"], status=ClipStatus.PROCESSING)
    live_worker.rows.clip.processing_started_at = utcnow()
    db_session.flush()

    sent = sweeper.requeue_clips(
        settings=settings, factory=worker_factory, send=lambda i: enqueue_analysis(settings, i)
    )

    expected = sorted(up.rows.clip.id for up in (never_sent, lost_long_ago, dead_worker))
    assert sent == 3
    assert _queued_ids(settings) == expected
    db_session.expire_all()
    assert db_session.get(Clip, never_sent.rows.clip.id).enqueued_at is not None  # type: ignore[union-attr]


def test_requeue_stops_while_the_broker_is_down(
    db_session: Session, settings: Settings, worker_factory: sessionmaker[Session]
) -> None:
    down = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    up = uploaded_clip(db_session, down, [b"a"], status=ClipStatus.QUEUED)
    sent = sweeper.requeue_clips(
        settings=down, factory=worker_factory, send=lambda i: enqueue_analysis(down, i)
    )
    assert sent == 0
    db_session.expire_all()
    assert db_session.get(Clip, up.rows.clip.id).enqueued_at is None  # type: ignore[union-attr]


def test_an_opened_clip_a_killed_worker_left_is_removed(
    settings: Settings, worker_factory: sessionmaker[Session]
) -> None:
    """The worker opens a clip into a private file; if it is killed, the file goes once the
    claim has expired (a newer one may still be in use by another worker on this host)."""
    work = storage.work_dir(settings)
    work.mkdir(parents=True)
    left, in_use = work / "candor-clip-left.webm", work / "candor-clip-busy.webm"
    left.write_bytes(b"opened video")
    in_use.write_bytes(b"opened video")
    past = time.time() - settings.analysis_lease_seconds - 5
    os.utime(left, (past, past))

    report = sweeper.sweep(settings=settings, factory=worker_factory)

    assert report.strays == 1 and not left.exists() and in_use.exists()
