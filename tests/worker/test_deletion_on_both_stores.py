"""Whatever deletes a clip, on either clip store: no object left, no key left, an audit row that
says the key was destroyed."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from candor.statuses import ClipStatus, ConsentDecision, DeletionReason, SessionStatus
from tests.support import stored
from tests.support.clips import make_webm, split
from tests.worker.conftest import Uploaded, uploaded_clip
from web.clips import idle, objects
from web.clips import sweep as sweeper
from web.clips.models import Chunk, Clip, ConsentRecord, DeletionAudit
from web.db import utcnow
from web.panel import endings, tokens
from web.settings import Settings
from worker import context
from worker.tasks import analyze_clip


@pytest.fixture
def on_store(store_settings: Settings, worker_factory: sessionmaker[Session]) -> Iterator[Settings]:
    """Tasks on the test's transaction, chunks on the parametrised store."""
    context.configure(store_settings, worker_factory)
    yield store_settings
    context.configure(None)


def _analysed(db: Session, settings: Settings, factory: sessionmaker[Session]) -> Uploaded:
    up = uploaded_clip(db, settings, split(make_webm(2.0), 2))
    assert analyze_clip(up.rows.clip.id) == "done"
    return up


def _failed(db: Session, settings: Settings, factory: sessionmaker[Session]) -> Uploaded:
    up = uploaded_clip(db, settings, [b"not a video at all", b"nor this"])
    assert analyze_clip(up.rows.clip.id) == "failed"
    return up


def _abandoned(db: Session, settings: Settings, factory: sessionmaker[Session]) -> Uploaded:
    """The tab closed before chunk 0 arrived: nothing decodable, the idle job abandons it."""
    up = uploaded_clip(db, settings, [b"zero", b"one"], status=ClipStatus.UPLOADING)
    clip = up.rows.clip
    db.execute(delete(Chunk).where(Chunk.clip_id == clip.id, Chunk.index == 0))
    old = utcnow() - timedelta(seconds=settings.upload_idle_seconds + 5)
    db.execute(update(Chunk).where(Chunk.clip_id == clip.id).values(received_at=old))
    clip.expected_chunks = None
    text = up.rows.integration.consent_texts[0]
    db.add(
        ConsentRecord(
            session_id=up.rows.panel_session.id,
            consent_text_id=text.id,
            text_sha256=text.sha256,
            locale=text.locale,
            decision=ConsentDecision.AGREE,
        )
    )
    up.rows.panel_session.status = SessionStatus.CONSENTED
    db.flush()
    report = idle.finish_idle_clips(settings=settings, factory=factory, send=lambda _id: True)
    assert report.abandoned == 1
    return up


def _withdrawn(db: Session, settings: Settings, factory: sessionmaker[Session]) -> Uploaded:
    up = uploaded_clip(db, settings, [b"zero", b"one"], status=ClipStatus.UPLOADING)
    endings.withdraw(
        session=db, settings=settings, session_public_id=up.rows.panel_session.public_id
    )
    return up


def _erased(db: Session, settings: Settings, factory: sessionmaker[Session]) -> Uploaded:
    up = uploaded_clip(db, settings, [b"zero", b"one"])
    code = tokens.receipt_code(settings, up.rows.panel_session.public_id)
    up.rows.panel_session.receipt_hash = tokens.receipt_hash(settings, code)
    db.flush()
    endings.erase_by_receipt(session=db, settings=settings, receipt_code=code)
    return up


def _expired(db: Session, settings: Settings, factory: sessionmaker[Session]) -> Uploaded:
    up = uploaded_clip(db, settings, [b"zero", b"one"], status=ClipStatus.QUEUED)
    up.rows.clip.created_at = utcnow() - timedelta(seconds=settings.clip_ttl_seconds + 5)
    db.flush()
    assert sweeper.sweep(settings=settings, factory=factory).expired == 1
    return up


REASONS: dict[str, tuple[Callable[..., Uploaded], DeletionReason]] = {
    "analysed": (_analysed, DeletionReason.ANALYSED),
    "failed": (_failed, DeletionReason.FAILED),
    "abandoned": (_abandoned, DeletionReason.ABANDONED),
    "withdrawn": (_withdrawn, DeletionReason.WITHDRAWN),
    "erased": (_erased, DeletionReason.ERASED),
    "ttl": (_expired, DeletionReason.EXPIRED),
}


@pytest.mark.parametrize("why", list(REASONS))
def test_a_deleted_clip_leaves_no_key_and_no_object(
    why: str, db_session: Session, on_store: Settings, worker_factory: sessionmaker[Session]
) -> None:
    delete_it, reason = REASONS[why]
    up = delete_it(db_session, on_store, worker_factory)
    clip_id, public_id = up.rows.clip.id, up.rows.clip.public_id

    db_session.expire_all()
    assert not stored.has_video(on_store, public_id)
    key = db_session.scalar(select(Clip.data_key).where(Clip.id == clip_id))
    assert key is None  # destroyed, or gone with the row
    audits = db_session.scalars(select(DeletionAudit).where(DeletionAudit.clip_id == clip_id)).all()
    assert [(a.reason, a.key_destroyed) for a in audits] == [(reason.value, True)]
    assert audits[0].session_id == up.rows.panel_session.id and audits[0].bytes > 0


def test_strays_and_leftovers_are_swept_from_either_store(
    db_session: Session, on_store: Settings, worker_factory: sessionmaker[Session]
) -> None:
    """Chunks with no clip row, and a finished clip's chunks left behind, go with an audit row."""
    store = objects.clip_store(on_store)
    stray = str(uuid.uuid4())
    store.put(stray, 0, b"sealed bytes nobody can open")
    leftover = uploaded_clip(db_session, on_store, [b"left"], status=ClipStatus.DONE)
    leftover.rows.clip.video_deleted_at = utcnow() - timedelta(minutes=5)
    fresh = uploaded_clip(db_session, on_store, [b"uploading"], status=ClipStatus.UPLOADING)
    store.put("not-a-clip", 0, b"not ours")
    db_session.flush()

    report = sweeper.sweep(settings=on_store, factory=worker_factory)

    assert (report.leftovers, report.strays) == (1, 1)
    assert store.indices(stray) == [] and not stored.has_video(
        on_store, leftover.rows.clip.public_id
    )
    assert stored.has_video(on_store, fresh.rows.clip.public_id)
    assert store.indices("not-a-clip") == [0]  # never delete what we did not write
    db_session.expire_all()
    assert db_session.get(Clip, leftover.rows.clip.id).data_key is None  # type: ignore[union-attr]
    audits = {a.clip_id: a for a in db_session.scalars(select(DeletionAudit))}
    assert audits[None].reason == DeletionReason.SWEPT and not audits[None].key_destroyed
    assert audits[None].bytes == len(b"sealed bytes nobody can open")
    assert audits[leftover.rows.clip.id].key_destroyed
    assert audits[leftover.rows.clip.id].bytes == len(b"left")
