"""The sweep policy: no panelist video outlives the TTL, whatever its state; strays go too, from the
local directory or the object store alike. And the requeue job: queued clips the broker never got
(or lost) are handed over again."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from candor.statuses import TERMINAL_CLIP, ClipStatus, DeletionReason
from web.clips import lifecycle, objects, storage
from web.clips.deletion import audit_row, remove_videos
from web.clips.models import Clip
from web.db import utcnow
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


def _expire_old_clips(session: Session, settings: Settings, now: datetime) -> tuple[int, list[str]]:
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
    removals = []
    for clip in clips:
        stored = lifecycle.expire(session, settings, clip)
        if stored is not None:
            removals.append(stored)
    return len(clips), removals


def _audit_stray(
    session: Session, settings: Settings, public_id: uuid.UUID, clip: Clip | None
) -> None:
    """Audit what is left of a clip; its key (if the row still holds one) is destroyed too."""
    wrapped = clip.data_key if clip is not None else None
    sha256, size = storage.fingerprint(settings, public_id, wrapped)
    session.add(
        audit_row(
            settings, clip, sha256, size, DeletionReason.SWEPT, key_destroyed=wrapped is not None
        )
    )
    if clip is not None:
        clip.data_key = None


def _sweep_spool(session: Session, settings: Settings, report: SweepReport) -> None:
    """Bodies an older version spooled to `clips_dir/.incoming` (never sealed), or a killed web
    process left, untouched for the upload idle time: audited in one row, deleted after the
    commit."""
    spool = settings.clips_dir / ".incoming"
    if not spool.is_dir():
        return
    cutoff = time.time() - settings.upload_idle_seconds
    stale = sorted(p for p in spool.iterdir() if p.is_file() and p.stat().st_mtime < cutoff)
    if not stale:
        return
    digest = hashlib.sha256()
    for path in stale:
        digest.update(path.read_bytes())
    size = sum(path.stat().st_size for path in stale)
    session.add(audit_row(settings, None, digest.hexdigest(), size, DeletionReason.SWEPT))
    session.commit()
    for path in stale:
        path.unlink(missing_ok=True)
    report.strays += len(stale)


def _sweep_store(
    session: Session, settings: Settings, now: datetime, report: SweepReport
) -> list[str]:
    """Stored clips with no clip row, or whose clip is finished: audited, to remove."""
    removals: list[str] = []
    for stored in objects.clip_store(settings).stored():
        try:
            public_id = uuid.UUID(stored.name)
        except ValueError:
            continue  # not ours; never delete what we did not write
        clip = session.scalar(select(Clip).where(Clip.public_id == public_id))
        if clip is None:
            _audit_stray(session, settings, public_id, None)
            report.strays += 1
        elif clip.status in TERMINAL_CLIP and (
            clip.video_deleted_at is None
            or clip.video_deleted_at < now - timedelta(seconds=LEFTOVER_GRACE_S)
        ):
            _audit_stray(session, settings, public_id, clip)
            clip.video_deleted_at = clip.video_deleted_at or now
            report.leftovers += 1
        else:
            continue
        removals.append(stored.name)
    return removals


def _sweep_ad_spool(settings: Settings, report: SweepReport) -> None:
    """Ad uploads a killed web process left half-written (designers' files: no audit row)."""
    spool = settings.ads_dir / ".incoming"
    if not spool.is_dir():
        return
    cutoff = time.time() - settings.upload_idle_seconds
    for path in spool.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            report.strays += 1


def sweep(*, settings: Settings, factory: sessionmaker[Session]) -> SweepReport:
    """One pass: expire old clips, then remove leftovers and strays, auditing every deletion."""
    now = utcnow()
    report = SweepReport()
    with factory() as session:
        report.expired, removals = _expire_old_clips(session, settings, now)
        session.commit()
    remove_videos(settings, removals)
    with factory() as session:
        removals = _sweep_store(session, settings, now, report)
        session.commit()
    remove_videos(settings, removals)
    if settings.clip_store == "local":
        with factory() as session:
            _sweep_spool(session, settings, report)
    # Opened clips a killed worker left on this host (other hosts' workers clean theirs at start).
    report.strays += storage.remove_stale_work_files(settings, settings.analysis_lease_seconds)
    _sweep_ad_spool(settings, report)
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
            lifecycle.mark_enqueued(session, clip_id)
        sent += 1
    if ids:
        log.info("requeue: %d of %d clip(s) handed to the broker", sent, len(ids))
    return sent
