"""Panelist video at rest, briefly: each chunk sealed with its clip's data key (`web.clips.keys`)
before it touches the clip store (`web.clips.objects`), opened again only by the worker.

An uploaded body is held in memory (at most `max_chunk_bytes`) until it is sealed: the plain
video never touches storage on the web side.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from candor.ondevice import MIME_BASE
from web.clips import keys, objects
from web.clips.objects import MissingChunk
from web.settings import Settings

__all__ = ["MissingChunk"]
# What the recorder may send (the base type, parameters aside) and the file suffix of each.
SUFFIXES = {
    "video/webm": ".webm",
    "video/mp4": ".mp4",
    "video/x-matroska": ".mkv",
    # On-device mode's face records (candor/ondevice.py): numbers, never pixels.
    MIME_BASE: ".records",
}
ALLOWED_MIME_TYPES = tuple(SUFFIXES)
VIDEO_MIME_TYPES = tuple(t for t in SUFFIXES if t.startswith("video/"))


class ChunkTooLarge(Exception):
    """The request body exceeded the chunk size cap; nothing was kept."""


@dataclass(frozen=True)
class ReceivedChunk:
    """An uploaded body, in memory, with its sha256 and size."""

    data: bytes
    sha256: str
    size: int


async def receive(stream: AsyncIterator[bytes], max_bytes: int) -> ReceivedChunk:
    """Read a request body, hashing it; ChunkTooLarge past max_bytes (nothing is kept)."""
    digest = hashlib.sha256()
    pieces: list[bytes] = []
    size = 0
    async for piece in stream:
        size += len(piece)
        if size > max_bytes:
            raise ChunkTooLarge(f"chunk is larger than {max_bytes} bytes")
        digest.update(piece)
        pieces.append(piece)
    return ReceivedChunk(b"".join(pieces), digest.hexdigest(), size)  # one copy at most


def put_chunk(
    settings: Settings,
    clip_public_id: uuid.UUID,
    wrapped_key: str | None,
    index: int,
    data: bytes,
) -> None:
    """Seal a chunk with its clip's key and store it whole (a reader sees all of it or none)."""
    key = keys.unwrap(settings.secret_key, clip_public_id, wrapped_key)
    sealed = keys.seal(key, clip_public_id, index, data)
    objects.clip_store(settings).put(str(clip_public_id), index, sealed)


def stored_indices(settings: Settings, clip_public_id: uuid.UUID | str) -> list[int]:
    """Indices of the chunks the store holds for a clip."""
    return objects.clip_store(settings).indices(str(clip_public_id))


def _opened(settings: Settings, clip_public_id: uuid.UUID, key: bytes | None, index: int) -> bytes:
    sealed = objects.clip_store(settings).get(str(clip_public_id), index)
    return sealed if key is None else keys.open_sealed(key, clip_public_id, index, sealed)


def fingerprint(
    settings: Settings,
    clip_public_id: uuid.UUID,
    wrapped_key: str | None,
    indices: list[int] | None = None,
) -> tuple[str, int]:
    """sha256 and size of the clip's video as the chunks make it up (what analysis would read);
    of the sealed bytes when the key is already gone (a leftover found by the sweeper)."""
    key = (
        None
        if wrapped_key is None
        else keys.unwrap(settings.secret_key, clip_public_id, wrapped_key)
    )
    digest = hashlib.sha256()
    size = 0
    for index in stored_indices(settings, clip_public_id) if indices is None else indices:
        try:
            data = _opened(settings, clip_public_id, key, index)
        except MissingChunk:
            continue  # deleted meanwhile: the audit describes what there was to delete
        digest.update(data)
        size += len(data)
    return digest.hexdigest(), size


def assemble(
    settings: Settings,
    clip_public_id: uuid.UUID,
    wrapped_key: str | None,
    chunk_count: int,
    suffix: str,
) -> tuple[Path, str, int]:
    """Open chunks 0..chunk_count-1 into one private temporary file (MediaRecorder chunks form
    one stream) that the caller removes. Returns the file, its sha256 and size."""
    key = keys.unwrap(settings.secret_key, clip_public_id, wrapped_key)
    directory = work_dir(settings)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="candor-clip-", suffix=suffix, dir=directory)  # 0600
    target = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            for index in range(chunk_count):
                data = _opened(settings, clip_public_id, key, index)
                digest.update(data)
                size += len(data)
                out.write(data)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target, digest.hexdigest(), size


def work_dir(settings: Settings) -> Path:
    """Where a worker keeps the opened clip while it analyses it (this host only)."""
    return settings.data_dir / "work"


def remove_stale_work_files(settings: Settings, older_than_s: float) -> int:
    """Delete opened clips a worker left behind (it was killed mid-analysis); how many.

    Only files older than `older_than_s`: another worker on this host may be using newer ones.
    """
    directory = work_dir(settings)
    if not directory.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for path in directory.glob("candor-clip-*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def remove_clip(settings: Settings, clip_public_id: uuid.UUID | str) -> int:
    """Delete every stored chunk of a clip; how many there were."""
    return objects.clip_store(settings).remove(str(clip_public_id))


def remove_chunks(settings: Settings, clip_public_id: uuid.UUID | str, indices: list[int]) -> int:
    """Delete some of a clip's stored chunks; how many there were."""
    return objects.clip_store(settings).remove(str(clip_public_id), indices)


def suffix_for(mime_type: str) -> str:
    """File suffix for a recorder mime type such as 'video/webm;codecs=vp9'."""
    base = mime_type.split(";", 1)[0].strip().lower()
    return SUFFIXES.get(base, ".bin")
