"""Deleting panelist video: one audit row per deletion (never the content), files removed after
the commit that records it."""

from __future__ import annotations

import enum
import logging
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from web.clips import storage
from web.clips.aggregates import apply_clip
from web.db import utcnow
from web.panel.models import Chunk, Clip, DeletionAudit, PanelSession, SessionStatus
from web.results.models import ClipSecond
from web.settings import Settings

log = logging.getLogger(__name__)


class DeletionReason(enum.StrEnum):
    ANALYSED = "analysed"  # curves stored, video no longer needed
    FAILED = "failed"  # analysis failed for good
    WITHDRAWN = "withdrawn"  # the panelist pressed "stop and delete"
    ERASED = "erased"  # erasure later, by receipt code
    SUPERSEDED = "superseded"  # the same respondent agreed again in a new session
    ABANDONED = "abandoned"  # never finished uploading (or nothing decodable: no chunk 0)
    GAP = "gap"  # chunks after a missing one, dropped when an idle upload was finished
    EXPIRED = "expired"  # older than the TTL, whatever its state
    SWEPT = "swept"  # leftover found by the sweeper (stray file, or a deletion that was cut short)
    SAMPLE_REMOVED = "sample_removed"  # the demo's generated panelists, removed by a designer


def record_video_deletion(
    session: Session,
    settings: Settings,
    clip: Clip,
    reason: DeletionReason,
    known: tuple[str, int] | None = None,
) -> Path | None:
    """Write the audit row for the clip's video, if any is on disk; the caller removes the
    returned directory after committing (so a rolled-back transaction deletes nothing).

    `known` is the video's (sha256, bytes) when the caller has just computed them.
    """
    directory = storage.clip_dir(settings, clip.public_id)
    session.execute(delete(Chunk).where(Chunk.clip_id == clip.id))
    if clip.video_deleted_at is None:
        clip.video_deleted_at = utcnow()
    if not directory.exists():
        return None
    sha256, size = known or storage.video_fingerprint(directory)
    session.add(DeletionAudit(clip_id=clip.id, sha256=sha256, bytes=size, reason=reason.value))
    return directory


def remove_directories(directories: list[Path]) -> None:
    """Remove clip directories after the audit rows are committed."""
    for directory in directories:
        try:
            storage.remove_tree(directory)
        except OSError:
            # The sweeper retries: the clip is in a terminal state, so its directory goes next run.
            log.exception("could not remove a clip directory; the sweeper will retry")


def remove_paths(paths: list[Path]) -> None:
    """Remove clip directories and single files after the audit rows are committed."""
    remove_directories([path for path in paths if path.is_dir()])
    for path in paths:
        if path.is_dir():
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError:
            # A chunk past a gap or a stray upload: the clip's deletion or the next sweep takes it.
            log.exception("could not remove a file; the sweeper will retry")


def erase_panel_session(
    session: Session, settings: Settings, panel_session: PanelSession, reason: DeletionReason
) -> list[Path]:
    """Delete every clip, chunk, event and curve of a session, subtract it from the aggregates,
    and drop what links the session to a person. Returns directories to remove after commit."""
    clips = session.scalars(
        select(Clip).where(Clip.session_id == panel_session.id).order_by(Clip.id).with_for_update()
    ).all()
    directories = []
    for clip in clips:
        if clip.aggregated:
            apply_clip(session, clip.id, -1)
        directory = record_video_deletion(session, settings, clip, reason)
        if directory is not None:
            directories.append(directory)
        session.execute(delete(ClipSecond).where(ClipSecond.clip_id == clip.id))
        session.delete(clip)
    if reason == DeletionReason.ERASED and panel_session.status != SessionStatus.WITHDRAWN:
        panel_session.erased_by_receipt = True
    panel_session.status = SessionStatus.WITHDRAWN
    panel_session.respondent_hash = ""
    panel_session.passthrough = {}
    if panel_session.ended_at is None:
        panel_session.ended_at = utcnow()
    return directories
