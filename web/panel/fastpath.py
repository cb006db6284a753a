"""The chunk upload's hot path on PostgreSQL: one statement checks, inserts and counts.

It runs on the driver's cursor, inside the session's transaction (a test's savepoint too) or
on a raw pooled connection (web/panel/chunk_route.py):
the statement is fixed, so SQLAlchemy's statement and result machinery would only add CPU to
every chunk. psycopg prepares it on the server after a few uses per connection.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from candor.statuses import ClipStatus, SessionStatus
from web.clips import storage
from web.clips.lifecycle import consented_sql
from web.db import utcnow
from web.settings import Settings

# The common case in one round trip: the clip is this session's, consented, still uploading,
# under its cap, and the index is new. Anything else (0 rows) takes the careful path below,
# which says exactly what was wrong. Enum columns hold member names. The consent test is
# web.clips.lifecycle.consented itself, compiled to SQL once.
_FAST_INSERT = f"""
    WITH target AS (
        SELECT clip.id AS clip_id FROM clip
        JOIN panel_session ON panel_session.id = clip.session_id
        JOIN ad ON ad.id = clip.ad_id
        WHERE clip.public_id = %(clip_public_id)s
          AND panel_session.public_id = %(session_public_id)s
          AND panel_session.status = %(consented)s
          AND clip.status = %(uploading)s
          AND clip.bytes_received + %(bytes)s <= %(max_clip_bytes)s
          -- The clip's bound (web.clips.bounds.clip_bound in SQL: change both together).
          AND %(index)s < CEIL((ad.duration_s + %(margin_s)s) * %(chunks_per_s)s)
          AND clip.bytes_received + %(bytes)s
              <= CEIL((ad.duration_s + %(margin_s)s) * %(bitrate_bps)s / 8.0)
          AND {consented_sql("panel_session.id")}
        FOR UPDATE OF clip
    ), inserted AS (
        INSERT INTO chunk (clip_id, index, bytes, sha256, received_at)
        SELECT clip_id, %(index)s, %(bytes)s, %(sha256)s, %(now)s FROM target
        ON CONFLICT (clip_id, index) DO NOTHING
        RETURNING clip_id
    ), counted AS (
        UPDATE clip SET bytes_received = bytes_received + %(bytes)s,
                        chunks_received = chunks_received + 1
        WHERE id IN (SELECT clip_id FROM inserted)
        RETURNING id, data_key
    )
    SELECT data_key FROM counted
"""  # noqa: S608 (fixed text: the consent test is compiled from code, never input)

_STATES = {
    "consented": SessionStatus.CONSENTED.name,
    "uploading": ClipStatus.UPLOADING.name,
}


def store_chunk_fast(
    session: Session,
    settings: Settings,
    session_public_id: uuid.UUID,
    clip_public_id: uuid.UUID,
    index: int,
    received: storage.ReceivedChunk,
) -> bool:
    """PostgreSQL: insert the chunk row and count it in one statement, then seal and store the
    chunk before committing; False to fall back (the careful path continues in this
    transaction)."""
    # The session's connection and transaction (begun here if none is open yet).
    driver: Any = session.connection().connection.driver_connection
    try:
        stored = store_on_connection(
            driver, settings, session_public_id, clip_public_id, index, received
        )
    except BaseException:
        session.rollback()
        raise
    if stored:
        session.commit()
    return stored


def store_on_connection(
    driver: Any,
    settings: Settings,
    session_public_id: uuid.UUID,
    clip_public_id: uuid.UUID,
    index: int,
    received: storage.ReceivedChunk,
) -> bool:
    """The hot path on a psycopg connection in a transaction: the one statement, then the
    chunk sealed and stored. True: the caller commits. False: nothing was written and the
    caller falls back to the careful path (web.panel.uploads). On an exception the caller
    rolls back."""
    if index >= settings.max_chunks_per_clip or received.size == 0:
        return False
    with driver.cursor() as cursor:
        cursor.execute(
            _FAST_INSERT,
            {
                **_STATES,
                "clip_public_id": clip_public_id,
                "session_public_id": session_public_id,
                "bytes": received.size,
                "max_clip_bytes": settings.max_clip_bytes,
                "margin_s": settings.clip_margin_s,
                "chunks_per_s": settings.clip_max_chunks_per_s,
                "bitrate_bps": settings.clip_max_bitrate_bps,
                "index": index,
                "sha256": received.sha256,
                "now": utcnow(),
            },
        )
        counted = cursor.fetchone()
    if counted is None:  # nothing was written
        return False
    # The row is not visible to anyone until the chunk is stored (same transaction).
    storage.put_chunk(settings, clip_public_id, counted[0], index, received.data)
    return True
