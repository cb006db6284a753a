"""Clips, playback events and finishing: the upload half of the panelist API (a clip's chunks
are web/panel/chunks.py). The services answer domain objects; web/panel/clip_api.py makes the
JSON of them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
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
from web.panel.schemas import ClipCreate, EventsIn, PlaybackEventIn
from web.panel.service import has_agreed, panel_session_for
from web.settings import Settings
from web.studies.models import Ad

NO_CONSENT = "No agree record for this session: uploads need consent first"


def refuse_unless_consented(status: SessionStatus, agreed: bool) -> None:
    if status == SessionStatus.WITHDRAWN:
        raise Refused("This session was withdrawn; nothing more is accepted")
    if status != SessionStatus.CONSENTED or not agreed:
        raise Refused(NO_CONSENT)


def _received(session: Session, clip_id: int) -> list[int]:
    return list(
        session.scalars(select(Chunk.index).where(Chunk.clip_id == clip_id).order_by(Chunk.index))
    )


@dataclass(frozen=True)
class ClipState:
    """A clip as the recorder sees it: its status and the chunk indices the server holds."""

    clip_id: uuid.UUID
    status: ClipStatus
    received: list[int]


def _state(session: Session, clip: Clip) -> ClipState:
    return ClipState(clip.public_id, clip.status, _received(session, clip.id))


def open_clip(
    *, session: Session, settings: Settings, session_public_id: uuid.UUID, body: ClipCreate
) -> ClipState:
    """The clip of one ad in this session, created on first call (idempotent per session and ad)
    with a fresh data key that will seal its chunks."""
    panel_session = panel_session_for(session, session_public_id)
    refuse_unless_consented(panel_session.status, has_agreed(session, panel_session.id))
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
            return _state(session, clip)
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
        return ClipState(clip.public_id, clip.status, [])
    raise Conflict("The clip is being created by another request; retry")


def _restart(session: Session, settings: Settings, clip: Clip) -> ClipState:
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
    return ClipState(clip.public_id, clip.status, [])


@dataclass
class LockedClip:
    clip: Clip
    session_public_id: uuid.UUID
    session_status: SessionStatus
    agreed: bool
    ad_duration_s: float | None = None

    def bound(self, settings: Settings) -> ClipBound:
        return clip_bound(settings, self.ad_duration_s)


def lock_clip(
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
) -> ClipState:
    locked = lock_clip(session, session_public_id, clip_public_id)
    out = _state(session, locked.clip)
    session.rollback()  # release the lock
    return out


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
    locked = lock_clip(session, session_public_id, clip_public_id)
    refuse_unless_consented(locked.session_status, locked.agreed)
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
    locked = lock_clip(session, session_public_id, clip_public_id)
    refuse_unless_consented(locked.session_status, locked.agreed)
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
