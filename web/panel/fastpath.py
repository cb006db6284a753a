"""The chunk upload's hot path on PostgreSQL: one statement checks, inserts and counts."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

from web.clips import storage
from web.db import utcnow
from web.panel.models import ClipStatus, ConsentDecision, SessionStatus
from web.settings import Settings

# The common case in one round trip: the clip is this session's, consented, still uploading,
# under its cap, and the index is new. Anything else (0 rows) takes the careful path below,
# which says exactly what was wrong. Enum columns hold member names. The consent test is
# web.clips.lifecycle.consented spelled in SQL: change both together.
_FAST_INSERT = text(
    """
    WITH target AS (
        SELECT clip.id AS clip_id FROM clip
        JOIN panel_session ON panel_session.id = clip.session_id
        WHERE clip.public_id = :clip_public_id
          AND panel_session.public_id = :session_public_id
          AND panel_session.status = :consented
          AND clip.status = :uploading
          AND clip.bytes_received + :bytes <= :max_clip_bytes
          AND EXISTS (
              SELECT 1 FROM consent_record
              WHERE consent_record.session_id = panel_session.id
                AND consent_record.decision = :agree)
        FOR UPDATE OF clip
    ), inserted AS (
        INSERT INTO chunk (clip_id, index, bytes, sha256, received_at)
        SELECT clip_id, :index, :bytes, :sha256, :now FROM target
        ON CONFLICT (clip_id, index) DO NOTHING
        RETURNING clip_id
    ), counted AS (
        UPDATE clip SET bytes_received = bytes_received + :bytes,
                        chunks_received = chunks_received + 1
        WHERE id IN (SELECT clip_id FROM inserted)
        RETURNING id
    )
    SELECT count(*) FROM counted
    """
)


def store_chunk_fast(
    session: Session,
    settings: Settings,
    session_public_id: uuid.UUID,
    clip_public_id: uuid.UUID,
    index: int,
    received: storage.ReceivedChunk,
) -> bool:
    """PostgreSQL: insert the chunk row and count it in one statement; False to fall back."""
    if index >= settings.max_chunks_per_clip or received.size == 0:
        return False
    stored = session.execute(
        _FAST_INSERT,
        {
            "clip_public_id": clip_public_id,
            "session_public_id": session_public_id,
            "consented": SessionStatus.CONSENTED.name,
            "uploading": ClipStatus.UPLOADING.name,
            "agree": ConsentDecision.AGREE.name,
            "bytes": received.size,
            "max_clip_bytes": settings.max_clip_bytes,
            "index": index,
            "sha256": received.sha256,
            "now": utcnow(),
        },
    ).scalar_one()
    if not stored:  # nothing was written; the careful path continues in this transaction
        return False
    try:
        # The row is not visible to anyone until the file is in place (same transaction).
        storage.place_chunk(received, storage.chunk_path(settings, clip_public_id, index))
    except BaseException:
        session.rollback()
        raise
    session.commit()
    return True
