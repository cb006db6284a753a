"""The idle policy. An upload that went idle (a tab closed before the recorder said "finish")
keeps what arrived.

A clip still uploading whose last chunk came more than `upload_idle_seconds` ago, in a session
that was not withdrawn and has shown no sign of life for `session_idle_seconds` (a recorder that
is offline keeps its chunks and sends them when back: its clip must stay open till then), is
finished here from the chunks that arrived, then queued and handed to the broker exactly as the
recorder's finish does. A recording decodes only up to its first
missing chunk, so it keeps chunks 0..n-1 and the rest are deleted (audit reason "gap"); with no
chunk 0 there is nothing to decode and the clip is abandoned.

A session whose recorder said the page was hidden or went away (its beacon,
`web/panel/presence.py`) and not that it is back does not wait for `session_idle_seconds`: its
clips are finished as soon as they have been idle for `left_idle_seconds` (time enough for a
reload to resume and send what the browser kept). Chunks after the mark (one in flight as the
page went away, a hidden tab recording on) keep the clip open only while they come: a hidden tab
then closed offline, which can send no beacon, is finished `left_idle_seconds` after its last
chunk rather than after the session's 15 minutes.

A session that was started or consented and then left with nothing uploading any more is ended
as "abandoned": at once after `session_idle_seconds` of silence when its page said it left
(a closed tab's beacon), else once it has been idle for the lifetime of its token (a tab closed
offline, a crash: by then no recorder can act on it any more, so none is cut off).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased, sessionmaker

from candor.statuses import ClipStatus, DeletionReason, SessionStatus
from web.clips import lifecycle, storage
from web.clips.deletion import audit_row, remove_videos
from web.clips.lifecycle import consented
from web.clips.models import Chunk, Clip, PanelSession
from web.db import utcnow
from web.settings import Settings

log = logging.getLogger(__name__)
BATCH = 500


@dataclass
class IdleReport:
    finished: int = 0  # queued for analysis from what arrived
    gaps: int = 0  # of those, clips whose chunks after a missing one were deleted
    abandoned: int = 0  # no chunk 0: deleted
    sent: int = 0  # handed to the broker (the requeue job sends the others later)

    def __str__(self) -> str:
        return (
            f"finished {self.finished} (with a gap {self.gaps}), abandoned {self.abandoned}, "
            f"sent {self.sent}"
        )


def _last_activity() -> ColumnElement[datetime]:
    """When the clip last received a chunk, or was opened if none came."""
    last_chunk = select(func.max(Chunk.received_at)).where(Chunk.clip_id == Clip.id)
    return func.coalesce(last_chunk.scalar_subquery(), Clip.created_at)


def _session_activity(session_id: InstrumentedAttribute[int]) -> ColumnElement[datetime]:
    """When the session last showed life: its latest chunk or clip, or its start."""
    clip = aliased(Clip)
    last_chunk = (
        select(func.max(Chunk.received_at))
        .join(clip, Chunk.clip_id == clip.id)
        .where(clip.session_id == session_id)
    )
    last_clip = select(func.max(clip.created_at)).where(clip.session_id == session_id)
    panel_session = aliased(PanelSession)
    started = select(panel_session.created_at).where(panel_session.id == session_id)
    return func.coalesce(
        last_chunk.scalar_subquery(), last_clip.scalar_subquery(), started.scalar_subquery()
    )


@dataclass(frozen=True)
class Cutoffs:
    """Idle since before `upload` (`left` in a left session); a session silent since `session`."""

    upload: datetime
    session: datetime
    left: datetime

    @classmethod
    def now(cls, settings: Settings) -> Cutoffs:
        now = utcnow()
        return cls(
            upload=now - timedelta(seconds=settings.upload_idle_seconds),
            session=now - timedelta(seconds=settings.session_idle_seconds),
            left=now - timedelta(seconds=settings.left_idle_seconds),
        )


def _left(session_id: InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """The session's page said it was hidden or went away (beacon) and has not said it is back
    (a "back" message or a resume clears the mark). Chunks after the mark do not clear it: a
    hidden tab may record on, and its clip stays open while they come; once they stop for
    `left_idle_seconds` (the tab was closed offline, with no beacon of its own) the clip is
    finished. For a query on another table (Clip.session_id)."""
    return exists().where(PanelSession.id == session_id, PanelSession.left_at.is_not(None))


def _eligible(cutoffs: Cutoffs) -> list[ColumnElement[bool]]:
    """Uploading, in a consented session that is not withdrawn, and either idle since before
    the upload cutoff in a session idle as a whole since before the session cutoff, or idle
    since before the (shorter) left cutoff in a session whose page said it was hidden or left
    (the recorder's beacon, web/panel/presence.py) and not that it is back."""
    not_withdrawn = exists().where(
        PanelSession.id == Clip.session_id, PanelSession.status != SessionStatus.WITHDRAWN
    )
    idle_since = _last_activity()
    return [
        Clip.status == ClipStatus.UPLOADING,
        consented(Clip.session_id),
        not_withdrawn,
        or_(
            and_(idle_since < cutoffs.upload, _session_activity(Clip.session_id) < cutoffs.session),
            and_(idle_since < cutoffs.left, _left(Clip.session_id)),
        ),
    ]


def _contiguous(indices: list[int]) -> int:
    """How many chunks from index 0 on arrived without a gap."""
    count = 0
    for index in indices:
        if index != count:
            break
        count += 1
    return count


@dataclass
class Finishing:
    """One idle clip's outcome, to act on after the commit: send it, remove the whole clip's
    chunks (`remove_clip`) or only those past a gap (`remove_tail`)."""

    queued: bool
    clip: str
    remove_clip: bool = False
    remove_tail: list[int] | None = None


def _finish_one(
    session: Session, settings: Settings, clip_id: int, cutoffs: Cutoffs, report: IdleReport
) -> Finishing | None:
    """Finish one idle clip under its row lock; None if it is no longer idle (or is busy)."""
    clip = session.scalar(
        select(Clip)
        .where(Clip.id == clip_id, *_eligible(cutoffs))
        .with_for_update(of=Clip, skip_locked=True)
    )
    if clip is None:  # a chunk or the recorder's finish came meanwhile, or it is being withdrawn
        return None
    rows = session.execute(
        select(Chunk.index, Chunk.bytes).where(Chunk.clip_id == clip.id).order_by(Chunk.index)
    ).all()
    kept = _contiguous([index for index, _size in rows])
    if kept == 0:
        report.abandoned += 1
        stored = lifecycle.abandon(session, settings, clip)
        return Finishing(queued=False, clip=str(clip.public_id), remove_clip=stored is not None)
    # The store, not the rows, says what is kept: an orphan chunk past the gap goes too.
    tail = [index for index in storage.stored_indices(settings, clip.public_id) if index >= kept]
    if tail:
        sha256, size = storage.fingerprint(settings, clip.public_id, clip.data_key, tail)
        session.add(audit_row(settings, clip, sha256, size, DeletionReason.GAP))
    if len(rows) > kept or tail:
        report.gaps += 1
        session.execute(delete(Chunk).where(Chunk.clip_id == clip.id, Chunk.index >= kept))
    clip.chunks_received = kept
    clip.bytes_received = sum(size for _index, size in rows[:kept])
    lifecycle.finish(clip, kept, auto=True)
    report.finished += 1
    return Finishing(queued=True, clip=str(clip.public_id), remove_tail=tail)


def _remove(settings: Settings, outcome: Finishing) -> None:
    """Delete what the committed audit rows describe (the sweeper catches anything left)."""
    if outcome.remove_clip:
        remove_videos(settings, [outcome.clip])
    if outcome.remove_tail:
        try:
            storage.remove_chunks(settings, outcome.clip, outcome.remove_tail)
        except Exception:
            log.exception("could not remove chunks past a gap; the clip's deletion removes them")


def finish_idle_clips(
    *, settings: Settings, factory: sessionmaker[Session], send: Callable[[int], bool]
) -> IdleReport:
    """One pass: finish every idle upload from what arrived and hand it to the broker."""
    cutoffs = Cutoffs.now(settings)
    report = IdleReport()
    with factory() as session:
        ids = session.scalars(
            select(Clip.id).where(*_eligible(cutoffs)).order_by(Clip.id).limit(BATCH)
        ).all()
    for clip_id in ids:
        with factory() as session:
            outcome = _finish_one(session, settings, clip_id, cutoffs, report)
            if outcome is None:
                session.rollback()
                continue
            session.commit()
            _remove(settings, outcome)
            # After the commit, as the recorder's finish does; a failed send stays queued with
            # no enqueued_at, and the requeue job sends it once the broker is back.
            if outcome.queued and send(clip_id):
                lifecycle.mark_enqueued(session, clip_id)
                report.sent += 1
    if ids:
        log.info("idle uploads: %s", report)
    return report


def end_idle_sessions(*, settings: Settings, factory: sessionmaker[Session]) -> int:
    """End every session left started or consented with no clip still uploading, as
    "abandoned" (its clips were finished or deleted already): idle for session_idle_seconds
    since its page said it left, else idle for session_token_ttl_seconds."""
    cutoff = utcnow() - timedelta(seconds=settings.session_token_ttl_seconds)
    left_cutoff = utcnow() - timedelta(seconds=settings.session_idle_seconds)
    uploading = exists().where(
        Clip.session_id == PanelSession.id, Clip.status == ClipStatus.UPLOADING
    )
    with factory() as session:
        left = session.scalars(
            select(PanelSession)
            .where(
                PanelSession.status.in_((SessionStatus.STARTED, SessionStatus.CONSENTED)),
                ~uploading,
                or_(
                    _session_activity(PanelSession.id) < cutoff,
                    and_(
                        PanelSession.left_at.is_not(None),
                        PanelSession.left_at >= _session_activity(PanelSession.id),
                        _session_activity(PanelSession.id) < left_cutoff,
                    ),
                ),
            )
            .order_by(PanelSession.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        now = utcnow()
        for panel_session in left:
            lifecycle.close_idle_session(panel_session, now)
        session.commit()
    if left:
        log.info("idle sessions: %d ended as abandoned", len(left))
    return len(left)
