"""A clip's states and the steps between them that more than one caller takes: consent,
queued for analysis, handed to the broker."""

from __future__ import annotations

from sqlalchemy import Exists, exists
from sqlalchemy.orm import QueryableAttribute, Session

from candor.statuses import ClipStatus, ConsentDecision
from web.clips.models import Clip, ConsentRecord
from web.db import utcnow


def consented(session_id: QueryableAttribute[int] | int) -> Exists:
    """The session has consented: an "agree" record exists for it. The chunk fast path
    (`web/panel/fastpath.py`) spells the same test in SQL."""
    return exists().where(
        ConsentRecord.session_id == session_id,
        ConsentRecord.decision == ConsentDecision.AGREE,
    )


def mark_queued(clip: Clip, chunk_count: int) -> None:
    """The clip is chunks 0..chunk_count-1, all here: ready for analysis (the caller commits,
    then hands it to the broker)."""
    clip.status = ClipStatus.QUEUED
    clip.expected_chunks = chunk_count
    clip.finished_at = utcnow()


def mark_enqueued(session: Session, clip_id: int) -> None:
    """Record a successful hand-over to the broker (None stays: the requeue job retries)."""
    clip = session.get(Clip, clip_id)
    if clip is not None and clip.status in (ClipStatus.QUEUED, ClipStatus.PROCESSING):
        clip.enqueued_at = utcnow()
        session.commit()
