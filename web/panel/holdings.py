"""What Candor holds for a receipt code: per recording, whether it was analysed (or why not: the
panelist stopped it, started again), when its video was deleted (and its key destroyed), and what
derived data remains: attention and expression curves, and emotion curves for a panelist who
agreed to a study in emotion mode. Nothing identifying."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus, DeletionReason, SessionStatus
from web.clips.models import Clip, ClipEmotionSecond, ClipSecond, DeletionAudit, PanelSession
from web.errors import NotFound
from web.panel import tokens
from web.settings import Settings

# Audit reasons that end a clip's video (a "gap" deletes only chunks past a missing one).
ENDING_REASONS = (
    DeletionReason.ANALYSED,
    DeletionReason.FAILED,
    DeletionReason.WITHDRAWN,
    DeletionReason.ERASED,
    DeletionReason.ABANDONED,
    DeletionReason.EXPIRED,
    DeletionReason.SWEPT,
)


@dataclass(frozen=True)
class RecordingHeld:
    """One recording (one ad) of the panelist, as the receipt page shows it."""

    number: int  # the ad's place in what the panelist watched, from 1
    analysed: bool
    in_progress: bool  # still uploading or waiting for analysis: the video exists for now
    video_deleted_at: datetime | None
    key_destroyed: bool
    curve_seconds: int  # seconds of pseudonymous attention and expression curves kept
    emotion_seconds: int = 0  # seconds of emotion curves kept (emotion mode only)
    withdrawn: bool = False  # the panelist stopped it ("Stop and delete my recording")
    superseded: bool = False  # deleted when the same panelist started the survey again


@dataclass(frozen=True)
class Holdings:
    recordings: list[RecordingHeld]
    erased: bool  # withdrawn or erased: derived data is gone too
    emotion_mode: bool = False  # the panelist agreed to emotion inference: emotion curves too
    erased_at: datetime | None = None  # when it was withdrawn or erased (the last deletion)


def session_for_receipt(session: Session, settings: Settings, receipt_code: str) -> PanelSession:
    """The session a receipt code belongs to; 404 if none."""
    panel_session = session.scalar(
        select(PanelSession).where(
            PanelSession.receipt_hash == tokens.receipt_hash(settings, receipt_code)
        )
    )
    if panel_session is None:
        raise NotFound("No session has this receipt code; check it and try again")
    return panel_session


def holdings(*, session: Session, settings: Settings, receipt_code: str) -> Holdings:
    """Everything Candor still holds, or has deleted, for this receipt code."""
    panel_session = session_for_receipt(session, settings, receipt_code)
    clips = {
        clip.ad_id: clip
        for clip in session.scalars(select(Clip).where(Clip.session_id == panel_session.id))
    }
    audits: dict[int | None, list[DeletionAudit]] = {}
    for audit in session.scalars(
        select(DeletionAudit)
        .where(DeletionAudit.session_id == panel_session.id)
        .order_by(DeletionAudit.deleted_at)
    ):
        audits.setdefault(audit.ad_id, []).append(audit)
    clip_ids = [clip.id for clip in clips.values()]
    seconds, emotion_seconds = (
        dict(
            session.execute(
                select(table.clip_id, func.count())
                .where(table.clip_id.in_(clip_ids))
                .group_by(table.clip_id)
            ).all()
        )
        for table in (ClipSecond, ClipEmotionSecond)
    )
    recordings = []
    for number, ad_id in enumerate(panel_session.ad_order, start=1):
        clip = clips.get(ad_id)
        ended = [a for a in audits.get(ad_id, []) if a.reason in ENDING_REASONS]
        if clip is None and not ended:
            continue  # never recorded
        deleted_at = clip.video_deleted_at if clip is not None else None
        if deleted_at is None and ended:
            deleted_at = ended[0].deleted_at
        recordings.append(
            RecordingHeld(
                number=number,
                analysed=(clip is not None and clip.status == ClipStatus.DONE)
                or any(a.reason == DeletionReason.ANALYSED for a in ended),
                in_progress=clip is not None and deleted_at is None,
                video_deleted_at=deleted_at,
                # Said only where an audit row records it (clips from before sealing have none).
                key_destroyed=any(a.key_destroyed for a in ended),
                curve_seconds=int(seconds.get(clip.id, 0)) if clip is not None else 0,
                emotion_seconds=int(emotion_seconds.get(clip.id, 0)) if clip is not None else 0,
                withdrawn=any(a.reason == DeletionReason.WITHDRAWN for a in ended),
                superseded=any(a.reason == DeletionReason.SUPERSEDED for a in ended),
            )
        )
    erased = panel_session.status == SessionStatus.WITHDRAWN
    erasures = [
        a.deleted_at
        for found in audits.values()
        for a in found
        if a.reason in (DeletionReason.WITHDRAWN, DeletionReason.ERASED, DeletionReason.SUPERSEDED)
    ]
    return Holdings(
        recordings,
        erased=erased,
        emotion_mode=panel_session.emotion_mode,
        erased_at=(max(erasures) if erasures else panel_session.ended_at) if erased else None,
    )
