"""A closed tab keeps what arrived: an idle upload is finished from its contiguous chunks,
analysed, and its video deleted; chunks past a gap are deleted; no chunk 0 means abandoned."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from alembic import command
from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from candor.migrations import alembic_config
from candor.statuses import ClipStatus, ConsentDecision, DeletionReason, SessionStatus
from tests.conftest import TEST_REDIS_URL
from tests.support import stored
from tests.support.clips import split
from tests.support.factories import TEST_SECRET_KEY
from tests.support.stack import forget_queue
from tests.worker.conftest import Uploaded, uploaded_clip
from web.clips import idle, storage
from web.clips.deletion import keyed_fingerprint, remove_videos
from web.clips.lifecycle import withdraw
from web.clips.models import Chunk, Clip, ClipSecond, ConsentRecord, DeletionAudit, PanelSession
from web.clips.queue import enqueue_analysis
from web.db import make_engine, utcnow
from web.settings import Settings
from worker import context
from worker.tasks import analyze_clip, finish_idle_clips

CLIP_SECONDS = 6
# The ad played from the start; the tab was hidden (closing) at 8 s of recording, well past
# the frames of the chunks that arrived: the events run past the last frame.
TAB_CLOSED = [("start", 0.0, 0.0), ("hidden", 8000.0, 8000.0)]


@pytest.fixture(scope="module")
def face_parts(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """A 6 s live face stream (as MediaRecorder writes it) cut into six ~1 s chunks."""
    from tests.support.face_clips import make_face_clip

    path = tmp_path_factory.mktemp("idle") / "face.webm"
    make_face_clip(path, seconds=CLIP_SECONDS, fps=15, size=(320, 240), live=True)
    return split(path.read_bytes(), CLIP_SECONDS)


@pytest.fixture
def queued_settings(
    settings: Settings, worker_factory: sessionmaker[Session]
) -> Iterator[Settings]:
    """Tasks on the test's transaction, sending to a Redis queue of their own."""
    own = settings.model_copy(update={"task_queue": f"candor-idle-{uuid.uuid4().hex[:12]}"})
    context.configure(own, worker_factory)
    yield own
    context.configure(None)
    forget_queue(TEST_REDIS_URL, own.task_queue)


def _sent(settings: Settings) -> list[int]:
    raw = redis.Redis.from_url(TEST_REDIS_URL).lrange(settings.task_queue, 0, -1)
    return sorted(json.loads(base64.b64decode(json.loads(m)["body"]))[0][0] for m in raw)


def _uploading(
    db_session: Session,
    settings: Settings,
    parts: list[bytes],
    indices: list[int],
    idle_s: float,
    events: list[tuple[str, float, float]] | None = None,
) -> Uploaded:
    """A consented panelist's clip still uploading, holding chunks `indices` of `parts`, the
    last of which arrived `idle_s` seconds ago."""
    up = uploaded_clip(
        db_session, settings, parts, events=events or TAB_CLOSED, status=ClipStatus.UPLOADING
    )
    clip, rows = up.rows.clip, up.rows
    missing = [i for i in range(len(parts)) if i not in indices]
    db_session.execute(delete(Chunk).where(Chunk.clip_id == clip.id, Chunk.index.in_(missing)))
    storage.remove_chunks(settings, clip.public_id, missing)
    received_at = utcnow() - timedelta(seconds=idle_s)
    for chunk in db_session.scalars(select(Chunk).where(Chunk.clip_id == clip.id)):
        chunk.received_at = received_at
    clip.created_at = received_at - timedelta(seconds=len(parts))
    clip.expected_chunks = None
    clip.chunks_received = len(indices)
    clip.bytes_received = sum(len(parts[i]) for i in indices)
    text = rows.integration.consent_texts[0]
    db_session.add(
        ConsentRecord(
            session_id=rows.panel_session.id,
            consent_text_id=text.id,
            text_sha256=text.sha256,
            locale=text.locale,
            decision=ConsentDecision.AGREE,
        )
    )
    rows.panel_session.status = SessionStatus.CONSENTED
    db_session.flush()
    return up


def _reload(db_session: Session, clip_id: int) -> Clip:
    db_session.expire_all()
    clip = db_session.get(Clip, clip_id)
    assert clip is not None
    return clip


def _audits(db_session: Session, clip_id: int) -> list[tuple[str, str, int]]:
    rows = db_session.scalars(
        select(DeletionAudit).where(DeletionAudit.clip_id == clip_id).order_by(DeletionAudit.id)
    )
    return [(row.reason, row.sha256, row.bytes) for row in rows]


def _seconds(db_session: Session, clip_id: int) -> list[ClipSecond]:
    return list(
        db_session.scalars(
            select(ClipSecond).where(ClipSecond.clip_id == clip_id).order_by(ClipSecond.second)
        )
    )


def _sha(data: bytes) -> str:
    """What the audit keeps of these bytes: their sha256, keyed (never the plain hash)."""
    plain = hashlib.sha256(data).hexdigest()
    return keyed_fingerprint(Settings(secret_key=TEST_SECRET_KEY), plain)


def test_an_idle_upload_is_finished_from_what_arrived_analysed_and_deleted(
    db_session: Session, queued_settings: Settings, face_parts: list[bytes]
) -> None:
    settings = queued_settings
    # The tab closed after four chunks; its events run on to 8 s.
    up = _uploading(
        db_session, settings, face_parts, [0, 1, 2, 3], settings.upload_idle_seconds + 5
    )
    clip_id = up.rows.clip.id

    assert finish_idle_clips() == "finished 1 (with a gap 0), abandoned 0, sent 1"

    clip = _reload(db_session, clip_id)
    assert (clip.status, clip.expected_chunks, clip.auto_finished) == (ClipStatus.QUEUED, 4, True)
    assert clip.finished_at is not None and clip.enqueued_at is not None
    assert _sent(settings) == [clip_id]
    assert _audits(db_session, clip_id) == []  # nothing deleted yet: every chunk is kept

    assert analyze_clip(clip_id) == "done"

    clip = _reload(db_session, clip_id)
    assert clip.status == ClipStatus.DONE, clip.failure_reason
    # Four seconds of a six-second ad: analysed and kept, but too little to count (issue 11).
    assert (clip.usable, clip.exclusion_reason, clip.aggregated) == (False, "incomplete", False)
    kept = b"".join(face_parts[:4])
    assert clip.sha256 == _sha(kept)
    # Curves for the seconds the frames cover, and only those: from 0, none past the recording.
    seconds = [row.second for row in _seconds(db_session, clip_id)]
    assert clip.duration_s is not None and 3 <= clip.duration_s < CLIP_SECONDS
    assert seconds == list(range(len(seconds))) and len(seconds) >= 3
    assert max(seconds) < clip.duration_s
    observed = [row for row in _seconds(db_session, clip_id) if row.flag is None]
    assert len(observed) >= 3
    assert all(row.attention is not None for row in observed)
    assert _audits(db_session, clip_id) == [(DeletionReason.ANALYSED, _sha(kept), len(kept))]
    assert not stored.has_video(settings, clip.public_id)
    assert clip.video_deleted_at is not None


def test_the_same_clip_finished_by_the_recorder_is_still_failed_as_truncated(
    db_session: Session, queued_settings: Settings, face_parts: list[bytes]
) -> None:
    """The events-past-the-frames check is waived only for clips the server finished."""
    up = _uploading(db_session, queued_settings, face_parts, [0, 1, 2, 3], 0)
    clip = up.rows.clip
    clip.status, clip.expected_chunks = ClipStatus.QUEUED, 4
    db_session.flush()
    assert analyze_clip(clip.id) == "failed"
    assert "truncated" in (_reload(db_session, clip.id).failure_reason or "")


def test_chunks_after_a_gap_are_deleted_and_the_prefix_analysed(
    db_session: Session, queued_settings: Settings, face_parts: list[bytes]
) -> None:
    settings = queued_settings
    # Chunk 3 never arrived; 4 and 5 did, but cannot be decoded without it.
    up = _uploading(
        db_session, settings, face_parts, [0, 1, 2, 4, 5], settings.upload_idle_seconds + 1
    )
    clip_id, public_id = up.rows.clip.id, up.rows.clip.public_id

    assert finish_idle_clips() == "finished 1 (with a gap 1), abandoned 0, sent 1"

    clip = _reload(db_session, clip_id)
    assert (clip.status, clip.expected_chunks, clip.chunks_received) == (ClipStatus.QUEUED, 3, 3)
    assert clip.bytes_received == sum(map(len, face_parts[:3]))
    tail = face_parts[4] + face_parts[5]
    assert _audits(db_session, clip_id) == [(DeletionReason.GAP, _sha(tail), len(tail))]
    remaining = db_session.scalars(select(Chunk.index).where(Chunk.clip_id == clip_id)).all()
    assert sorted(remaining) == [0, 1, 2]
    assert stored.indices(settings, public_id) == [0, 1, 2]

    assert analyze_clip(clip_id) == "done"

    clip = _reload(db_session, clip_id)
    assert clip.status == ClipStatus.DONE, clip.failure_reason
    assert clip.exclusion_reason == "incomplete", "three seconds of six do not count"
    assert _seconds(db_session, clip_id)
    prefix = b"".join(face_parts[:3])
    assert _audits(db_session, clip_id) == [
        (DeletionReason.GAP, _sha(tail), len(tail)),
        (DeletionReason.ANALYSED, _sha(prefix), len(prefix)),
    ]
    assert not stored.has_video(settings, public_id)


def test_without_chunk_0_the_clip_is_abandoned_and_deleted(
    db_session: Session, queued_settings: Settings, face_parts: list[bytes]
) -> None:
    settings = queued_settings
    headless = _uploading(
        db_session, settings, face_parts, [1, 2], settings.upload_idle_seconds + 1
    )
    empty = _uploading(db_session, settings, face_parts, [], settings.upload_idle_seconds + 1)

    assert finish_idle_clips() == "finished 0 (with a gap 0), abandoned 2, sent 0"

    for up in (headless, empty):
        clip = _reload(db_session, up.rows.clip.id)
        assert clip.status == ClipStatus.ABANDONED and clip.video_deleted_at is not None
        assert not stored.has_video(settings, clip.public_id)
        assert db_session.scalars(select(Chunk).where(Chunk.clip_id == clip.id)).all() == []
    sent_bytes = face_parts[1] + face_parts[2]
    assert _audits(db_session, headless.rows.clip.id) == [
        (DeletionReason.ABANDONED, _sha(sent_bytes), len(sent_bytes))
    ]
    # Nothing was stored, but the clip's key is destroyed all the same, and audited.
    assert _audits(db_session, empty.rows.clip.id) == [(DeletionReason.ABANDONED, _sha(b""), 0)]
    assert _sent(settings) == []


def test_a_clip_with_a_recent_chunk_is_left_alone(
    db_session: Session, queued_settings: Settings, face_parts: list[bytes]
) -> None:
    settings = queued_settings
    up = _uploading(db_session, settings, face_parts, [0, 1], settings.upload_idle_seconds + 60)
    # The next chunk arrives now: the upload is alive, however old its first chunks are.
    stored.put_plain(settings, up.rows.clip, 2, face_parts[2])
    db_session.add(
        Chunk(clip_id=up.rows.clip.id, index=2, bytes=len(face_parts[2]), sha256="0" * 64)
    )
    just_idle = _uploading(db_session, settings, face_parts, [0], settings.upload_idle_seconds - 5)
    db_session.flush()

    assert finish_idle_clips() == "finished 0 (with a gap 0), abandoned 0, sent 0"

    for alive in (up, just_idle):
        clip = _reload(db_session, alive.rows.clip.id)
        assert (clip.status, clip.auto_finished) == (ClipStatus.UPLOADING, False)
        assert stored.has_video(settings, clip.public_id)
    assert _sent(settings) == []


def test_a_withdrawn_sessions_clip_is_never_analysed(
    db_session: Session, queued_settings: Settings, face_parts: list[bytes]
) -> None:
    settings = queued_settings
    idle_s = settings.upload_idle_seconds + 1
    # A withdrawn session whose clip somehow still sits uploading: not finished, not sent.
    withdrawn = _uploading(db_session, settings, face_parts, [0, 1], idle_s)
    withdrawn.rows.panel_session.status = SessionStatus.WITHDRAWN
    # Withdrawn after the idle job queued its clip, before a worker took it.
    late = _uploading(db_session, settings, face_parts, [0, 1], idle_s)
    db_session.flush()

    assert finish_idle_clips() == "finished 1 (with a gap 0), abandoned 0, sent 1"
    assert _reload(db_session, withdrawn.rows.clip.id).status == ClipStatus.UPLOADING
    assert _sent(settings) == [late.rows.clip.id]
    panel_session = db_session.get(PanelSession, late.rows.panel_session.id)
    assert panel_session is not None
    removals = withdraw(db_session, settings, panel_session, DeletionReason.WITHDRAWN)
    db_session.flush()
    remove_videos(settings, removals)

    assert analyze_clip(late.rows.clip.id) == "missing"
    assert db_session.scalars(select(ClipSecond)).all() == []
    assert [a[0] for a in _audits(db_session, late.rows.clip.id)] == [DeletionReason.WITHDRAWN]
    assert not stored.has_video(settings, late.rows.clip.public_id)


def test_a_clip_the_recorder_finishes_meanwhile_is_not_touched(
    db_session: Session,
    queued_settings: Settings,
    face_parts: list[bytes],
    worker_factory: sessionmaker[Session],
) -> None:
    """The job re-checks each clip under its row lock: only clips still idle are finished."""
    settings = queued_settings
    up = _uploading(db_session, settings, face_parts, [0, 1], settings.upload_idle_seconds + 1)
    up.rows.clip.status = ClipStatus.QUEUED  # the recorder's finish won the race
    db_session.flush()
    with worker_factory() as session:
        report = idle.IdleReport()
        cutoffs = idle.Cutoffs.now(settings)
        assert idle._finish_one(session, settings, up.rows.clip.id, cutoffs, report) is None
    assert report.finished == 0


def test_upload_idle_must_be_shorter_than_the_clip_ttl() -> None:
    assert Settings().upload_idle_seconds == 120
    with pytest.raises(ValidationError, match=r"UPLOAD_IDLE_SECONDS \(600\) must be less than"):
        Settings(upload_idle_seconds=600, clip_ttl_seconds=600)
    with pytest.raises(ValidationError):
        Settings(upload_idle_seconds=0)
    assert (
        Settings(
            upload_idle_seconds=5, session_idle_seconds=5, left_idle_seconds=5, clip_ttl_seconds=6
        ).upload_idle_seconds
        == 5
    )
    with pytest.raises(ValidationError, match=r"SESSION_IDLE_SECONDS \(1800\) must be less"):
        Settings(session_idle_seconds=1800)


def test_the_idle_job_on_the_embedded_default_sqlite(
    tmp_path: Path, face_parts: list[bytes]
) -> None:
    url = f"sqlite:///{tmp_path / 'candor.db'}"
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    settings = Settings(
        environment="test",
        secret_key=TEST_SECRET_KEY,
        data_dir=tmp_path / "data",
        database_url=url,
        session_idle_seconds=120,
    )
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    idle_s = settings.upload_idle_seconds + 1
    with factory() as session:
        whole = _uploading(session, settings, face_parts, [0, 1, 2], idle_s).rows.clip.id
        gap = _uploading(session, settings, face_parts, [0, 2], idle_s).rows.clip.id
        alive = _uploading(session, settings, face_parts, [0], 1).rows.clip.id
        session.commit()
    sent: list[int] = []

    def send(clip_id: int) -> bool:
        sent.append(clip_id)
        return True

    report = idle.finish_idle_clips(settings=settings, factory=factory, send=send)

    assert (report.finished, report.gaps, report.sent) == (2, 1, 2)
    assert sent == [whole, gap]
    with factory() as session:
        found = {c.id: c for c in session.scalars(select(Clip))}
        assert (found[whole].status, found[whole].expected_chunks) == (ClipStatus.QUEUED, 3)
        assert (found[gap].status, found[gap].expected_chunks) == (ClipStatus.QUEUED, 1)
        assert found[whole].enqueued_at is not None
        assert found[alive].status == ClipStatus.UPLOADING
        reasons = session.scalars(select(DeletionAudit.reason)).all()
        assert reasons == [DeletionReason.GAP]
    engine.dispose()


def test_with_the_broker_down_the_clip_stays_queued_for_the_requeue_job(
    db_session: Session,
    settings: Settings,
    face_parts: list[bytes],
    worker_factory: sessionmaker[Session],
) -> None:
    down = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    up = _uploading(db_session, down, face_parts, [0, 1], down.upload_idle_seconds + 1)
    report = idle.finish_idle_clips(
        settings=down, factory=worker_factory, send=lambda i: enqueue_analysis(down, i)
    )
    assert (report.finished, report.sent) == (1, 0)
    clip = _reload(db_session, up.rows.clip.id)
    assert (clip.status, clip.enqueued_at) == (ClipStatus.QUEUED, None)


def test_a_clip_is_not_closed_while_its_session_is_alive(
    db_session: Session,
    queued_settings: Settings,
    worker_factory: sessionmaker[Session],
    face_parts: list[bytes],
) -> None:
    """Issue 11: a recorder offline past upload_idle_seconds still holds the rest of the clip;
    closing it then lost 11 of 15 chunks. It waits for the session to go quiet instead."""
    settings = queued_settings.model_copy(update={"session_idle_seconds": 600})
    offline = _uploading(db_session, settings, face_parts, [0, 1, 2, 3], 300)
    gone = _uploading(db_session, settings, face_parts, [0, 1], 601)
    db_session.flush()

    report = idle.finish_idle_clips(settings=settings, factory=worker_factory, send=lambda _: True)
    assert (report.finished, report.abandoned) == (1, 0)
    assert _reload(db_session, offline.rows.clip.id).status == ClipStatus.UPLOADING
    assert _reload(db_session, gone.rows.clip.id).status == ClipStatus.QUEUED


def test_sessions_left_behind_are_ended_by_the_idle_job(
    db_session: Session,
    queued_settings: Settings,
    worker_factory: sessionmaker[Session],
    face_parts: list[bytes],
) -> None:
    """Issue 7 of 11: a closed or reloaded tab left its session consented, never ended."""
    settings = queued_settings
    idle_s = settings.session_token_ttl_seconds + 1
    left = _uploading(db_session, settings, face_parts, [0, 1], idle_s)
    left.rows.clip.status = ClipStatus.DONE  # its clip was finished and analysed already
    uploading = _uploading(db_session, settings, face_parts, [0, 1], idle_s)
    recent = _uploading(db_session, settings, face_parts, [0, 1], 5)
    recent.rows.clip.status = ClipStatus.DONE
    complete = _uploading(db_session, settings, face_parts, [0], idle_s)
    complete.rows.clip.status = ClipStatus.DONE
    complete.rows.panel_session.status = SessionStatus.COMPLETE
    never_agreed = PanelSession(
        integration_id=left.rows.integration.id,
        study_id=left.rows.panel_session.study_id,
        respondent_hash="x",
        created_at=utcnow() - timedelta(seconds=idle_s),
    )
    db_session.add(never_agreed)
    db_session.flush()

    assert idle.end_idle_sessions(settings=settings, factory=worker_factory) == 2
    db_session.expire_all()
    assert left.rows.panel_session.status == SessionStatus.ABANDONED
    assert left.rows.panel_session.ended_at is not None
    assert never_agreed.status == SessionStatus.ABANDONED
    assert uploading.rows.panel_session.status == SessionStatus.CONSENTED, "its clip first"
    assert recent.rows.panel_session.status == SessionStatus.CONSENTED
    assert complete.rows.panel_session.status == SessionStatus.COMPLETE
