"""An ad cut off by a reload is offered again, once (issue 20, item 5).

A reload (or a closed tab reopened) mid-ad leaves the ad's clip uploading with part of the ad:
finished as it is, it would be excluded as "incomplete" and the panelist's one viewing of that ad
lost. When the same respondent resumes the session, the server lists such ads (`reoffer_ads`):
clips still uploading, with no "end" playback event (the ad did not play to its end), never
restarted before. The recorder offers one again when what was recorded of it is too little to
count (below candor.quality.MIN_AD_COVERAGE of the ad), and opens its clip with `restart: true`:
the cut-off take is then deleted like any video (audit reason "restarted", its data key
destroyed) and the same clip starts afresh under a new public id and a new data key, so nothing
of the first take can be read or mixed into the second. Once only: a second reload during the
second take keeps what arrived, and the idle rules or the recorder's finish close it as usual.

Every study allows this: the panelist has seen part of the ad either way, and the analysis of a
second viewing is comparable to that of a viewing cut off after a few seconds only because the
cut-off one is never used (it is deleted, not analysed).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus, DeletionReason, PlaybackEventKind
from web.clips import keys
from web.clips.deletion import record_video_deletion
from web.clips.models import Chunk, Clip, DeletionAudit, PlaybackEvent
from web.settings import Settings


def _cut_off() -> list[ColumnElement[bool]]:
    """Uploading, its ad never reached its end, and not restarted before."""
    ended = exists().where(
        PlaybackEvent.clip_id == Clip.id, PlaybackEvent.kind == PlaybackEventKind.END
    )
    restarted = exists().where(
        DeletionAudit.clip_id == Clip.id, DeletionAudit.reason == DeletionReason.RESTARTED.value
    )
    return [Clip.status == ClipStatus.UPLOADING, ~ended, ~restarted]


@dataclass(frozen=True)
class CutOff:
    """An ad that may be recorded again from the start, and how many chunks of it are held."""

    ad_id: int
    chunks: int


def reoffer_ads(session: Session, panel_session_id: int) -> list[CutOff]:
    """The resumed session's ads that may be recorded again from the start, with the chunks
    the server holds of each (only those it holds some of: an empty clip is simply reused)."""
    rows = session.execute(
        select(Clip.ad_id, Clip.chunks_received)
        .where(Clip.session_id == panel_session_id, Clip.chunks_received > 0, *_cut_off())
        .order_by(Clip.id)
    ).all()
    return [CutOff(ad_id=ad_id, chunks=chunks) for ad_id, chunks in rows]


def restart(session: Session, settings: Settings, clip: Clip) -> str | None:
    """Delete the clip's cut-off take and start it afresh, if it may be (True-ish: the public
    id whose stored chunks to remove after the commit). The clip row must be locked. None, with
    nothing changed, if it may not: the caller refuses (an ad is re-recorded once only)."""
    allowed = session.scalar(select(Clip.id).where(Clip.id == clip.id, *_cut_off()))
    if allowed is None:
        return None
    old_public_id = str(clip.public_id)
    stored = record_video_deletion(session, settings, clip, DeletionReason.RESTARTED)
    session.execute(delete(PlaybackEvent).where(PlaybackEvent.clip_id == clip.id))
    session.execute(delete(Chunk).where(Chunk.clip_id == clip.id))
    clip.public_id = uuid.uuid4()
    clip.data_key = keys.new_wrapped_key(settings.secret_key, clip.public_id)
    clip.chunks_received = 0
    clip.bytes_received = 0
    clip.video_deleted_at = None
    return stored if stored is not None else old_public_id
