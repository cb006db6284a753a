"""A clip's chunks: the body received and checked, then sealed and stored idempotently by
(clip, index). The hot path (one statement on a raw pooled connection, web/panel/fastpath.py)
serves web/panel/chunk_route.py; the careful path on an ORM session says what is wrong."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus
from web.clips import keys, storage
from web.clips.models import Chunk, Clip
from web.errors import Conflict, Invalid, TooLarge
from web.panel.fastpath import store_chunk_fast, store_on_connection
from web.panel.uploads import lock_clip, refuse_unless_consented
from web.settings import Settings


async def receive_chunk(
    stream: AsyncIterator[bytes],
    settings: Settings,
    content_length: str | None,
    x_chunk_sha256: str | None,
) -> storage.ReceivedChunk:
    """A chunk's body, in memory (sealed before it is stored): 413 past max_chunk_bytes,
    announced or streamed; 400 if an X-Chunk-Sha256 header disagrees with the bytes."""
    too_large = f"A chunk is at most {settings.max_chunk_bytes} bytes"
    if (
        content_length
        and content_length.isdigit()
        and int(content_length) > settings.max_chunk_bytes
    ):
        raise TooLarge(too_large)
    try:
        received = await storage.receive(stream, settings.max_chunk_bytes)
    except storage.ChunkTooLarge as exc:
        raise TooLarge(too_large) from exc
    if x_chunk_sha256 and x_chunk_sha256.lower() != received.sha256:
        raise Invalid("X-Chunk-Sha256 does not match the bytes received")
    return received


@contextmanager
def _data_key_required() -> Iterator[None]:
    try:
        yield
    except keys.KeyDestroyed as exc:  # a clip opened before chunks were sealed (an upgrade)
        raise Conflict("This clip has no data key and takes no chunks") from exc


def store_chunk_pooled(
    engine: Engine,
    settings: Settings,
    session_public_id: uuid.UUID,
    clip_public_id: uuid.UUID,
    index: int,
    received: storage.ReceivedChunk,
) -> bool:
    """The hot path on a raw pooled PostgreSQL connection, no ORM session: True once the new
    chunk is stored and committed; False when nothing was written and `store_chunk` must say
    what the chunk is (a replay, a refusal)."""
    raw = engine.raw_connection()
    try:
        with _data_key_required():
            stored = store_on_connection(
                raw.driver_connection, settings, session_public_id, clip_public_id, index, received
            )
        if stored:
            raw.commit()
        else:
            raw.rollback()
        return stored
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()  # back to the pool


def store_chunk(
    *,
    session: Session,
    settings: Settings,
    session_public_id: uuid.UUID,
    clip_public_id: uuid.UUID,
    index: int,
    received: storage.ReceivedChunk,
) -> bool:
    """Seal and keep an uploaded chunk: True when it is new, False for a replay of it.

    Idempotent by (clip, index): the same bytes again are accepted without change, other bytes
    are refused. The chunk is stored only after its row is flushed, so a refused chunk can never
    overwrite a stored one.
    """
    with _data_key_required():
        if session.get_bind().dialect.name == "postgresql" and store_chunk_fast(
            session, settings, session_public_id, clip_public_id, index, received
        ):
            return True
        return _store_chunk(session, settings, session_public_id, clip_public_id, index, received)


def _store_chunk(
    session: Session,
    settings: Settings,
    session_public_id: uuid.UUID,
    clip_public_id: uuid.UUID,
    index: int,
    received: storage.ReceivedChunk,
) -> bool:
    if index >= settings.max_chunks_per_clip:
        raise TooLarge(f"A clip has at most {settings.max_chunks_per_clip} chunks")
    if received.size == 0:
        raise Invalid("Empty chunk: the body must hold the chunk's bytes")
    for _attempt in range(2):
        locked = lock_clip(session, session_public_id, clip_public_id)
        refuse_unless_consented(locked.session_status, locked.agreed)
        clip = locked.clip
        stored = session.scalar(
            select(Chunk.sha256).where(Chunk.clip_id == clip.id, Chunk.index == index)
        )
        if stored is not None:
            session.rollback()
            if stored != received.sha256:
                raise Conflict(f"Chunk {index} was already stored with different bytes")
            return False
        if clip.status != ClipStatus.UPLOADING:
            raise Conflict(f"This clip is {clip.status.value}; it takes no more chunks")
        bound = locked.bound(settings)
        refused = bound.too_many_chunks(index) or bound.too_many_bytes(
            clip.bytes_received + received.size
        )
        if refused:
            raise TooLarge(refused)
        session.add(
            Chunk(clip_id=clip.id, index=index, bytes=received.size, sha256=received.sha256)
        )
        # SQL-side increments: exact even where the row lock is not available (SQLite).
        clip.bytes_received = Clip.bytes_received + received.size
        clip.chunks_received = Clip.chunks_received + 1
        try:
            session.flush()
        except IntegrityError:  # the same index arrived concurrently: compare with that one
            session.rollback()
            continue
        try:
            storage.put_chunk(settings, clip.public_id, clip.data_key, index, received.data)
        except BaseException:
            session.rollback()
            raise
        session.commit()
        return True
    raise Conflict(f"Chunk {index} is being stored by another request; retry")
