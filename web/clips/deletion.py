"""Deleting panelist video: one audit row per deletion (never the content), the clip's data key
destroyed in the same transaction, the stored chunks removed after the commit that records it."""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from candor.statuses import DeletionReason
from web.clips import storage
from web.clips.models import (
    Chunk,
    Clip,
    DeletionAudit,
)
from web.db import utcnow
from web.settings import Settings

log = logging.getLogger(__name__)


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_FINGERPRINT_PURPOSE = b"candor video fingerprint v1"


def keyed_fingerprint(settings: Settings, sha256: str) -> str:
    """What is kept of a video's sha256: HMAC-SHA256 under a key derived from the server secret.

    A plain sha256 would be a lasting fingerprint: anyone holding a copy of a file could confirm
    from the audit that it was uploaded. Keyed, it still tells two deletions of the same bytes
    apart from different ones, for whoever holds the secret, and nothing to anyone else."""
    key = hmac.new(settings.secret_key.encode(), _FINGERPRINT_PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, sha256.encode(), hashlib.sha256).hexdigest()


def audit_row(
    settings: Settings,
    clip: Clip | None,
    sha256: str,
    size: int,
    reason: DeletionReason,
    *,
    key_destroyed: bool = False,
    deleted_at: datetime | None = None,
) -> DeletionAudit:
    """The audit row of one deletion: what went (a keyed hash of it and its size, never content
    nor a plain hash), why, of which clip; a stray with no clip row has none."""
    row = DeletionAudit(
        clip_id=clip.id if clip else None,
        session_id=clip.session_id if clip else None,
        ad_id=clip.ad_id if clip else None,
        sha256=keyed_fingerprint(settings, sha256),
        bytes=size,
        reason=reason.value,
        key_destroyed=key_destroyed,
    )
    if deleted_at is not None:
        row.deleted_at = deleted_at
    return row


def record_video_deletion(
    session: Session,
    settings: Settings,
    clip: Clip,
    reason: DeletionReason,
    known: tuple[str, int] | None = None,
) -> str | None:
    """Destroy the clip's data key and write the audit row for its video (if it had a key or
    stored chunks); the caller removes the returned clip's chunks after committing, so a
    rolled-back transaction deletes nothing. Once committed, any copy of the chunks is noise.

    `known` is the video's (sha256, bytes) when the caller has just computed them.
    """
    session.execute(delete(Chunk).where(Chunk.clip_id == clip.id))
    now = utcnow()
    if clip.video_deleted_at is None:
        clip.video_deleted_at = now
    stored = bool(known) or bool(storage.stored_indices(settings, clip.public_id))
    had_key = clip.data_key is not None
    if not stored and not had_key:
        return None
    if known is not None:
        sha256, size = known
    elif stored:
        sha256, size = storage.fingerprint(settings, clip.public_id, clip.data_key)
    else:
        sha256, size = EMPTY_SHA256, 0
    clip.data_key = None
    # deleted_at: the time the receipt page shows, before and after erasure.
    session.add(
        audit_row(settings, clip, sha256, size, reason, key_destroyed=had_key, deleted_at=now)
    )
    return str(clip.public_id) if stored else None


def remove_videos(settings: Settings, clips: list[str]) -> None:
    """Remove clips' stored chunks after the audit rows (and the key destruction) are committed."""
    for clip in clips:
        try:
            storage.remove_clip(settings, clip)
        except Exception:
            # The sweeper retries: the clip is in a terminal state, so its chunks go next run.
            log.exception("could not remove a clip's chunks; the sweeper will retry")
