"""A clip's life, every step of it written once: consent, finish (by the recorder, its leaving
page or the idle job), hand-over to the broker, the worker's claim, save and fail, abandon,
expiry, and the withdrawal that erases a session. The callers choose *which* clips (the panel
API, `web.clips.idle`, `web.clips.sweep`, the worker); the steps here say what each state change
writes. Each step that deletes video returns the clip to remove once the caller has committed
(`web.clips.deletion.remove_videos`), so a rolled-back transaction deletes nothing.

    uploading --finish--> queued --claim--> processing --save--> done
        |                   ^                    |--fail--> failed
        |                   '-----(lease lost)---'
        '--abandon--> abandoned          any state --expire--> (video gone, TTL)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Exists,
    and_,
    column,
    delete,
    exists,
    literal_column,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.orm import QueryableAttribute, Session

from candor.statuses import (
    ClipStatus,
    ConsentDecision,
    DeletionReason,
    SessionStatus,
)
from web.clips.aggregates import apply_clip
from web.clips.deletion import keyed_fingerprint, record_video_deletion
from web.clips.models import (
    Clip,
    ClipEmotionSecond,
    ClipRestLevel,
    ClipSecond,
    ConsentRecord,
    PanelSession,
)
from web.clips.provenance import provenance_id
from web.db import utcnow
from web.settings import Settings

# The one column of the studies' `ad` table a clip's analysis reads, named as the clip's foreign
# key names the table: web.clips sits below web.studies and never imports it.
_AD = table("ad", column("id"), column("duration_s"))


def consented(session_id: QueryableAttribute[int] | ColumnElement[int] | int) -> Exists:
    """The session has consented: an "agree" record exists for it."""
    return exists().where(
        ConsentRecord.session_id == session_id,
        ConsentRecord.decision == ConsentDecision.AGREE,
    )


def consented_sql(session_id_column: str) -> str:
    """`consented` as PostgreSQL text, for the chunk fast path's hand-written statement
    (`web/panel/fastpath.py`): the same definition, compiled, never spelled twice."""
    pg = PGDialect()  # type: ignore[no-untyped-call]
    expression = consented(literal_column(session_id_column))
    return str(expression.compile(dialect=pg, compile_kwargs={"literal_binds": True}))


def finish(clip: Clip, chunk_count: int, *, auto: bool = False) -> None:
    """The clip is chunks 0..chunk_count-1, all here: queued for analysis (the caller commits,
    then hands it to the broker). `auto`: the server finished it after its upload went idle
    (its recording may end before its playback events do)."""
    clip.status = ClipStatus.QUEUED
    clip.expected_chunks = chunk_count
    clip.finished_at = utcnow()
    if auto:
        clip.auto_finished = True


def mark_enqueued(session: Session, clip_id: int) -> None:
    """Record a successful hand-over to the broker (None stays: the requeue job retries)."""
    clip = session.get(Clip, clip_id)
    if clip is not None and clip.status in (ClipStatus.QUEUED, ClipStatus.PROCESSING):
        clip.enqueued_at = utcnow()
        session.commit()


def abandon(session: Session, settings: Settings, clip: Clip) -> str | None:
    """An upload that never finished (or has nothing decodable): abandoned, its video deleted
    and audited."""
    clip.status = ClipStatus.ABANDONED
    return record_video_deletion(session, settings, clip, DeletionReason.ABANDONED)


def claim(session: Session, clip_id: int, token: str, lease_s: int) -> bool:
    """Take the clip for analysis with one UPDATE if it is queued, ours already, or its lease
    has expired; False if another worker holds a live lease or the clip is not queued."""
    now = utcnow()
    taken = session.execute(
        update(Clip)
        .where(
            Clip.id == clip_id,
            or_(
                Clip.status == ClipStatus.QUEUED,
                and_(
                    Clip.status == ClipStatus.PROCESSING,
                    or_(
                        Clip.processing_token == token,
                        Clip.processing_started_at < now - timedelta(seconds=lease_s),
                    ),
                ),
            ),
        )
        .values(status=ClipStatus.PROCESSING, processing_token=token, processing_started_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def ad_duration_s(session: Session, clip: Clip) -> float:
    """The length of the clip's ad (infinite if the ad is gone)."""
    found = session.scalar(select(_AD.c.duration_s).where(_AD.c.id == clip.ad_id))
    return float(found) if found is not None else float("inf")


def lock_if_claimed(session: Session, clip_id: int, token: str) -> Clip | None:
    """The clip under its row lock if this token's claim still holds, else None."""
    clip = session.scalar(select(Clip).where(Clip.id == clip_id).with_for_update())
    if clip is None or clip.status != ClipStatus.PROCESSING or clip.processing_token != token:
        return None
    return clip


@dataclass
class Analysed:
    """What the analysis made of a clip, as the clip's rows and quality."""

    seconds: list[ClipSecond | ClipEmotionSecond]
    rest_levels: dict[str, float]
    exclusion_reason: str | None
    face_found_share: float | None
    n_frames: int | None
    duration_s: float | None
    version: str
    provenance: dict[str, Any]


def save(
    session: Session,
    settings: Settings,
    clip: Clip,
    analysed: Analysed,
    video: tuple[str, int],
) -> str | None:
    """Done: curves and quality stored (replacing any earlier run's), the clip added to its
    ad's aggregates if usable, its video audited and its key destroyed, all in the caller's one
    commit. `video` is the assembled video's (sha256, bytes)."""
    if clip.aggregated:  # a re-run replaces the clip's share, never adds it twice
        apply_clip(session, clip.id, -1)
    _delete_results(session, clip.id)
    session.add_all(analysed.seconds)
    session.add_all(
        ClipRestLevel(clip_id=clip.id, metric=metric, level=level)
        for metric, level in analysed.rest_levels.items()
    )
    clip.status = ClipStatus.DONE
    clip.sha256 = keyed_fingerprint(settings, video[0])  # never a plain, lasting fingerprint
    clip.usable = analysed.exclusion_reason is None
    clip.exclusion_reason = analysed.exclusion_reason
    clip.face_found_share = analysed.face_found_share
    clip.n_frames = analysed.n_frames
    clip.duration_s = analysed.duration_s
    clip.analysis_version = analysed.version[:200]
    clip.provenance_id = provenance_id(session, analysed.provenance)
    clip.analysed_at = utcnow()
    clip.failure_reason = None
    session.flush()
    clip.aggregated = bool(clip.usable) and apply_clip(session, clip.id, +1) > 0
    return record_video_deletion(session, settings, clip, DeletionReason.ANALYSED, video)


def fail(session: Session, settings: Settings, clip: Clip, reason: str) -> str | None:
    """Failed for good: the reason recorded, the video deleted and audited."""
    clip.status = ClipStatus.FAILED
    clip.failure_reason = reason
    clip.usable = False
    clip.analysed_at = utcnow()
    return record_video_deletion(session, settings, clip, DeletionReason.FAILED)


def expire(session: Session, settings: Settings, clip: Clip) -> str | None:
    """Past the clip TTL, whatever its state: its video goes. An upload is abandoned; a clip
    still waiting for (or in) analysis fails."""
    if clip.status == ClipStatus.UPLOADING:
        return abandon(session, settings, clip)
    if clip.status in (ClipStatus.QUEUED, ClipStatus.PROCESSING):
        clip.status = ClipStatus.FAILED
        clip.failure_reason = "not analysed within the clip TTL; video deleted"
    return record_video_deletion(session, settings, clip, DeletionReason.EXPIRED)


def end_session(
    session: Session, settings: Settings, panel_session: PanelSession, status: SessionStatus
) -> list[str]:
    """The recorder ended the session: its unfinished uploads are abandoned."""
    unfinished = session.scalars(
        select(Clip)
        .where(Clip.session_id == panel_session.id, Clip.status == ClipStatus.UPLOADING)
        .with_for_update()
    ).all()
    removals = [stored for clip in unfinished if (stored := abandon(session, settings, clip))]
    panel_session.status = status
    panel_session.ended_at = utcnow()
    return removals


def close_idle_session(panel_session: PanelSession, now: datetime) -> None:
    """A session left started or consented with nothing uploading any more: abandoned."""
    panel_session.status = SessionStatus.ABANDONED
    panel_session.ended_at = now


def _delete_results(session: Session, clip_id: int) -> None:
    session.execute(delete(ClipSecond).where(ClipSecond.clip_id == clip_id))
    session.execute(delete(ClipEmotionSecond).where(ClipEmotionSecond.clip_id == clip_id))
    session.execute(delete(ClipRestLevel).where(ClipRestLevel.clip_id == clip_id))


def withdraw(
    session: Session, settings: Settings, panel_session: PanelSession, reason: DeletionReason
) -> list[str]:
    """Withdrawn (stop and delete, erasure by receipt, superseded, a removed sample): every
    clip, chunk, event and curve of the session deleted, its share subtracted from the
    aggregates, and what links the session to a person dropped."""
    clips = session.scalars(
        select(Clip).where(Clip.session_id == panel_session.id).order_by(Clip.id).with_for_update()
    ).all()
    removals = []
    for clip in clips:
        if clip.aggregated:
            apply_clip(session, clip.id, -1)
        stored = record_video_deletion(session, settings, clip, reason)
        if stored is not None:
            removals.append(stored)
        _delete_results(session, clip.id)
        session.delete(clip)
    if panel_session.status != SessionStatus.WITHDRAWN:
        # Counted apart from "stop and delete" in data quality: later by receipt, or restarted.
        if reason == DeletionReason.ERASED:
            panel_session.erased_by_receipt = True
        elif reason == DeletionReason.SUPERSEDED:
            panel_session.superseded = True
    panel_session.status = SessionStatus.WITHDRAWN
    panel_session.respondent_hash = ""
    panel_session.resume_hash = None
    panel_session.passthrough = {}
    if panel_session.ended_at is None:
        panel_session.ended_at = utcnow()
    return removals
