"""The sweeper: no panelist video outlives the TTL, whatever its state; strays go too. And the
requeue job: queued clips the broker never got (or lost) are handed over again."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from web import models  # noqa: F401  (every table, so foreign keys resolve)
from web.clips import storage
from web.clips.deletion import (
    DeletionReason,
    record_video_deletion,
    remove_directories,
    remove_paths,
)
from web.clips.lifecycle import TERMINAL, mark_enqueued
from web.db import utcnow
from web.panel.models import Clip, ClipStatus, DeletionAudit
from web.settings import Settings

log = logging.getLogger(__name__)
# A clip that just reached a terminal state is deleted by its own worker within milliseconds;
# the sweeper leaves it that long before calling it a leftover (and auditing it twice).
LEFTOVER_GRACE_S = 60
BATCH = 500


@dataclass
class SweepReport:
    expired: int = 0
    leftovers: int = 0
    strays: int = 0

    def __str__(self) -> str:
        return f"expired {self.expired}, leftovers {self.leftovers}, strays {self.strays}"


def _expire_old_clips(
    session: Session, settings: Settings, now: datetime
) -> tuple[int, list[Path]]:
    """Clips older than the TTL whose video may still exist: delete it, whatever the state."""
    clips = session.scalars(
        select(Clip)
        .where(
            Clip.video_deleted_at.is_(None),
            Clip.created_at < now - timedelta(seconds=settings.clip_ttl_seconds),
        )
        .order_by(Clip.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    directories = []
    for clip in clips:
        if clip.status == ClipStatus.UPLOADING:
            clip.status = ClipStatus.ABANDONED
            reason = DeletionReason.ABANDONED
        elif clip.status in (ClipStatus.QUEUED, ClipStatus.PROCESSING):
            clip.status = ClipStatus.FAILED
            clip.failure_reason = "not analysed within the clip TTL; video deleted"
            reason = DeletionReason.EXPIRED
        else:
            reason = DeletionReason.EXPIRED
        directory = record_video_deletion(session, settings, clip, reason)
        if directory is not None:
            directories.append(directory)
    return len(clips), directories


def _audit_stray(session: Session, paths: list[Path], clip_id: int | None) -> None:
    sha256, size = storage.fingerprint(paths)
    session.add(
        DeletionAudit(clip_id=clip_id, sha256=sha256, bytes=size, reason=DeletionReason.SWEPT.value)
    )


def _sweep_disk(
    session: Session, settings: Settings, now: datetime, report: SweepReport
) -> list[Path]:
    """Directories with no clip row, or whose clip is finished, and stale partial uploads."""
    root = settings.clips_dir
    if not root.is_dir():
        return []
    directories: list[Path] = []
    for entry in sorted(root.iterdir()):
        if entry.name == storage.INCOMING:
            cutoff = time.time() - settings.clip_ttl_seconds
            stale = [p for p in entry.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
            if stale:
                _audit_stray(session, stale, None)
                directories.extend(stale)
                report.strays += len(stale)
            continue
        try:
            public_id = uuid.UUID(entry.name)
        except ValueError:
            continue  # not ours; never delete what we did not write
        clip = session.scalar(select(Clip).where(Clip.public_id == public_id))
        files = sorted(p for p in entry.rglob("*") if p.is_file())
        if clip is None:
            _audit_stray(session, files, None)
            report.strays += 1
        elif clip.status in TERMINAL and (
            clip.video_deleted_at is None
            or clip.video_deleted_at < now - timedelta(seconds=LEFTOVER_GRACE_S)
        ):
            _audit_stray(session, files, clip.id)
            clip.video_deleted_at = clip.video_deleted_at or now
            report.leftovers += 1
        else:
            continue
        directories.append(entry)
    return directories


def sweep(*, settings: Settings, factory: sessionmaker[Session]) -> SweepReport:
    """One pass: expire old clips, then remove leftovers and strays, auditing every deletion."""
    now = utcnow()
    report = SweepReport()
    with factory() as session:
        report.expired, directories = _expire_old_clips(session, settings, now)
        session.commit()
    remove_directories(directories)
    with factory() as session:
        directories = _sweep_disk(session, settings, now, report)
        session.commit()
    remove_paths(directories)
    if report.expired or report.leftovers or report.strays:
        log.info("sweep: %s", report)
    return report


def requeue_clips(
    *, settings: Settings, factory: sessionmaker[Session], send: Callable[[int], bool]
) -> int:
    """Hand queued clips to the broker again: never enqueued (broker was down), enqueued long
    ago and still waiting, or held by a worker whose claim has expired. Returns how many."""
    now = utcnow()
    with factory() as session:
        ids = session.scalars(
            select(Clip.id)
            .where(
                or_(
                    and_(
                        Clip.status == ClipStatus.QUEUED,
                        or_(
                            Clip.enqueued_at.is_(None),
                            Clip.enqueued_at
                            < now - timedelta(seconds=settings.requeue_after_seconds),
                        ),
                    ),
                    and_(
                        Clip.status == ClipStatus.PROCESSING,
                        Clip.processing_started_at
                        < now - timedelta(seconds=settings.analysis_lease_seconds),
                    ),
                )
            )
            .order_by(Clip.id)
            .limit(BATCH)
        ).all()
    sent = 0
    for clip_id in ids:
        if not send(clip_id):
            break  # the broker is still down; the next run tries again
        with factory() as session:
            mark_enqueued(session, clip_id)
        sent += 1
    if ids:
        log.info("requeue: %d of %d clip(s) handed to the broker", sent, len(ids))
    return sent
