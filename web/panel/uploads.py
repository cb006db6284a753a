"""Clips, chunks, playback events and finishing: the upload half of the panelist API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from candor import ondevice
from candor.statuses import ClipStatus, PlaybackEventKind, SessionStatus
from web.clips import keys, lifecycle, reoffer, storage
from web.clips.bounds import ClipBound, clip_bound
from web.clips.deletion import remove_videos
from web.clips.lifecycle import consented
from web.clips.models import Chunk, Clip, PanelSession, PlaybackEvent
from web.errors import Conflict, Invalid, NotFound, Refused, TooLarge, Unsupported
from web.panel.fastpath import store_chunk_fast, store_on_connection
from web.panel.schemas import ChunkOut, ClipCreate, ClipOut, EventsIn, PlaybackEventIn
from web.panel.service import has_agreed, panel_session_for
from web.settings import Settings
from web.studies.models import Ad

NO_CONSENT = "No agree record for this session: uploads need consent first"


def _refuse_unless_consented(status: SessionStatus, agreed: bool) -> None:
    if status == SessionStatus.WITHDRAWN:
        raise Refused("This session was withdrawn; nothing more is accepted")
    if status != SessionStatus.CONSENTED or not agreed:
        raise Refused(NO_CONSENT)


def _received(session: Session, clip_id: int) -> list[int]:
    return list(
        session.scalars(select(Chunk.index).where(Chunk.clip_id == clip_id).order_by(Chunk.index))
    )


def _clip_out(session: Session, clip: Clip) -> ClipOut:
    return ClipOut(
        clip_id=clip.public_id, status=clip.status.value, received=_received(session, clip.id)
    )


def open_clip(
    *, session: Session, settings: Settings, session_public_id: uuid.UUID, body: ClipCreate
) -> ClipOut:
    """The clip of one ad in this session, created on first call (idempotent per session and ad)
    with a fresh data key that will seal its chunks."""
    panel_session = panel_session_for(session, session_public_id)
    _refuse_unless_consented(panel_session.status, has_agreed(session, panel_session.id))
    if body.ad_id not in panel_session.ad_order:
        raise NotFound("This ad is not part of the session")
    if panel_session.on_device:
        # The privacy promise of on-device mode, kept by the server too: this session's clips
        # are face records of the pinned format, never video.
        if body.mime_type.replace(" ", "").lower() != ondevice.MIME_TYPE:
            raise Unsupported(
                "This session is analysed on the panelist's device: only face records "
                f"({ondevice.MIME_TYPE}) are accepted, never video"
            )
    elif ondevice.is_records(body.mime_type):
        raise Unsupported("This session records video: face records are not accepted")
    else:
        base_type = body.mime_type.split(";", 1)[0].strip().lower()
        if base_type not in storage.VIDEO_MIME_TYPES:
            raise Unsupported(f"mime_type must be one of {', '.join(storage.VIDEO_MIME_TYPES)}")
    for _attempt in range(2):
        of_ad = select(Clip).where(Clip.session_id == panel_session.id, Clip.ad_id == body.ad_id)
        # Restarting: locked, and read afresh (chunks may have come by the fast path's SQL).
        locked = of_ad.with_for_update().execution_options(populate_existing=True)
        clip = session.scalar(locked if body.restart else of_ad)
        if clip is not None and body.restart and clip.chunks_received > 0:
            return _restart(session, settings, clip)
        if clip is not None:
            return _clip_out(session, clip)
        public_id = uuid.uuid4()
        clip = Clip(
            public_id=public_id,
            session_id=panel_session.id,
            ad_id=body.ad_id,
            mime_type=body.mime_type,
            data_key=keys.new_wrapped_key(settings.secret_key, public_id),
        )
        session.add(clip)
        try:
            session.commit()
        except IntegrityError:  # a concurrent call created it first
            session.rollback()
            continue
        return ClipOut(clip_id=clip.public_id, status=clip.status.value, received=[])
    raise Conflict("The clip is being created by another request; retry")


def _restart(session: Session, settings: Settings, clip: Clip) -> ClipOut:
    """The ad offered again after a reload cut it off: its first take goes (reoffer.py)."""
    removal = reoffer.restart(session, settings, clip)
    if removal is None:
        session.rollback()
        raise Conflict(
            "This ad's recording cannot be started again (it reached its end, or was "
            "restarted once already)",
            code="no_restart",
        )
    session.commit()
    remove_videos(settings, [removal])
    return ClipOut(clip_id=clip.public_id, status=clip.status.value, received=[])


@dataclass
class LockedClip:
    clip: Clip
    session_public_id: uuid.UUID
    session_status: SessionStatus
    agreed: bool
    ad_duration_s: float | None = None

    def bound(self, settings: Settings) -> ClipBound:
        return clip_bound(settings, self.ad_duration_s)


def _lock_clip(
    session: Session, session_public_id: uuid.UUID, clip_public_id: uuid.UUID
) -> LockedClip:
    """The clip, locked for update, if it belongs to this session; otherwise 404."""
    agreed = consented(PanelSession.id)
    row = session.execute(
        select(Clip, PanelSession.public_id, PanelSession.status, agreed, Ad.duration_s)
        .join(PanelSession, Clip.session_id == PanelSession.id)
        .outerjoin(Ad, Ad.id == Clip.ad_id)
        .where(Clip.public_id == clip_public_id)
        .with_for_update(of=Clip)
    ).first()
    # Another session's clip is reported exactly like a missing one.
    if row is None or row[1] != session_public_id:
        raise NotFound("No such clip in this session")
    return LockedClip(row[0], row[1], row[2], bool(row[3]), row[4])


def clip_state(
    *, session: Session, session_public_id: uuid.UUID, clip_public_id: uuid.UUID
) -> ClipOut:
    locked = _lock_clip(session, session_public_id, clip_public_id)
    out = _clip_out(session, locked.clip)
    session.rollback()  # release the lock
    return out


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
) -> tuple[bool, ChunkOut]:
    """Seal and keep an uploaded chunk. Returns (created, answer).

    Idempotent by (clip, index): the same bytes again are accepted without change, other bytes
    are refused. The chunk is stored only after its row is flushed, so a refused chunk can never
    overwrite a stored one.
    """
    with _data_key_required():
        if session.get_bind().dialect.name == "postgresql" and store_chunk_fast(
            session, settings, session_public_id, clip_public_id, index, received
        ):
            return True, ChunkOut(index=index, bytes=received.size)
        return _store_chunk(session, settings, session_public_id, clip_public_id, index, received)


def _store_chunk(
    session: Session,
    settings: Settings,
    session_public_id: uuid.UUID,
    clip_public_id: uuid.UUID,
    index: int,
    received: storage.ReceivedChunk,
) -> tuple[bool, ChunkOut]:
    if index >= settings.max_chunks_per_clip:
        raise TooLarge(f"A clip has at most {settings.max_chunks_per_clip} chunks")
    if received.size == 0:
        raise Invalid("Empty chunk: the body must hold the chunk's bytes")
    for _attempt in range(2):
        locked = _lock_clip(session, session_public_id, clip_public_id)
        _refuse_unless_consented(locked.session_status, locked.agreed)
        clip = locked.clip
        stored = session.scalar(
            select(Chunk.sha256).where(Chunk.clip_id == clip.id, Chunk.index == index)
        )
        if stored is not None:
            session.rollback()
            if stored != received.sha256:
                raise Conflict(f"Chunk {index} was already stored with different bytes")
            return False, ChunkOut(index=index, bytes=received.size)
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
        return True, ChunkOut(index=index, bytes=received.size)
    raise Conflict(f"Chunk {index} is being stored by another request; retry")


def add_events(
    session: Session, clip: Clip, events: Sequence[PlaybackEventIn], bound: ClipBound
) -> None:
    """Add playback events to an uploading clip (locked by the caller), idempotent by seq: an
    event stored already is skipped, one stored with other content is a 409, one past the
    clip's bound (its ad's length plus the margin) a 413."""
    wanted: dict[int, tuple[PlaybackEventKind, float, float]] = {}
    for event in events:
        refused = bound.too_long(event.clip_ms) or bound.too_long(event.ad_ms)
        if refused:
            raise TooLarge(refused)
        item = (event.kind, event.clip_ms, event.ad_ms)
        if wanted.setdefault(event.seq, item) != item:
            raise Invalid(f"Event seq {event.seq} appears twice with different content")
    existing = session.scalars(
        select(PlaybackEvent).where(PlaybackEvent.clip_id == clip.id, PlaybackEvent.seq.in_(wanted))
    ).all()
    for row in existing:
        if (row.kind, row.clip_ms, row.ad_ms) != wanted.pop(row.seq):
            raise Conflict(f"Event seq {row.seq} was stored with different content")
    for seq, (kind, clip_ms, ad_ms) in wanted.items():
        session.add(
            PlaybackEvent(clip_id=clip.id, seq=seq, kind=kind, clip_ms=clip_ms, ad_ms=ad_ms)
        )


def store_events(
    *,
    session: Session,
    settings: Settings,
    session_public_id: uuid.UUID,
    clip_public_id: uuid.UUID,
    body: EventsIn,
) -> int:
    """Store playback events, idempotent by seq; returns how many of the sent events are stored.
    An event past the clip's bound (its ad's length plus the margin) is a 413."""
    locked = _lock_clip(session, session_public_id, clip_public_id)
    _refuse_unless_consented(locked.session_status, locked.agreed)
    clip = locked.clip
    if clip.status != ClipStatus.UPLOADING:
        raise Conflict("This clip is finished; events must be sent before finish")
    add_events(session, clip, body.events, locked.bound(settings))
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("These events are being stored by another request; retry") from exc
    return len(body.events)


@dataclass
class Finished:
    clip_id: int
    status: ClipStatus
    needs_enqueue: bool


def finish_clip(
    *, session: Session, session_public_id: uuid.UUID, clip_public_id: uuid.UUID, chunk_count: int
) -> Finished:
    """Mark the clip queued once every chunk 0..chunk_count-1 is here; 409 lists the missing."""
    locked = _lock_clip(session, session_public_id, clip_public_id)
    _refuse_unless_consented(locked.session_status, locked.agreed)
    clip = locked.clip
    if clip.status != ClipStatus.UPLOADING:
        session.rollback()
        # A replayed finish; hand it to the broker again if the first hand-over failed.
        retry = clip.status == ClipStatus.QUEUED and clip.enqueued_at is None
        return Finished(clip.id, clip.status, retry)
    received = _received(session, clip.id)
    beyond = [i for i in received if i >= chunk_count]
    if beyond:
        raise Invalid(f"chunk_count is {chunk_count} but chunk {beyond[0]} was received")
    have = set(received)
    missing = [i for i in range(chunk_count) if i not in have]
    if missing:
        session.rollback()
        raise Conflict(
            f"{len(missing)} chunk(s) missing; send them and finish again",
            missing=missing[:1000],
        )
    lifecycle.finish(clip, chunk_count)
    session.commit()
    return Finished(clip.id, ClipStatus.QUEUED, True)
