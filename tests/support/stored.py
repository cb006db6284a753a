"""What the clip store holds, for tests: on the local directory or the object store alike."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from web.clips import keys, objects, storage
from web.clips.models import Clip
from web.settings import Settings


def _id(clip_public_id: uuid.UUID | str) -> uuid.UUID:
    return clip_public_id if isinstance(clip_public_id, uuid.UUID) else uuid.UUID(clip_public_id)


def has_video(settings: Settings, clip_public_id: uuid.UUID | str) -> bool:
    """Whether any chunk of the clip is stored."""
    return bool(storage.stored_indices(settings, clip_public_id))


def indices(settings: Settings, clip_public_id: uuid.UUID | str) -> list[int]:
    return storage.stored_indices(settings, clip_public_id)


def sealed(settings: Settings, clip_public_id: uuid.UUID | str, index: int) -> bytes:
    """A chunk's bytes as stored (sealed)."""
    return objects.clip_store(settings).get(str(clip_public_id), index)


def plain(
    session: Session, settings: Settings, clip_public_id: uuid.UUID | str, index: int
) -> bytes:
    """A stored chunk opened with its clip's key, read from the clip's row."""
    public_id = _id(clip_public_id)
    wrapped = session.scalar(select(Clip.data_key).where(Clip.public_id == public_id))
    key = keys.unwrap(settings.secret_key, public_id, wrapped)
    return keys.open_sealed(key, public_id, index, sealed(settings, public_id, index))


def put_plain(settings: Settings, clip: Clip, index: int, data: bytes) -> None:
    """Store a chunk for a clip as the upload API does (sealed with the clip's key)."""
    storage.put_chunk(settings, clip.public_id, clip.data_key, index, data)
