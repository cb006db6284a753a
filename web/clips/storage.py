"""Panelist video on disk, briefly: chunk files, the assembled clip, and their removal.

Layout: `clips_dir/{clip_public_id}/{index:06d}.part`, plus `assembled-*.{ext}` while a worker
analyses it. Uploads land in `clips_dir/.incoming/` first and are renamed into place atomically.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

from web.settings import Settings

INCOMING = ".incoming"
CHUNK_NAME = re.compile(r"^(\d{6,})\.part$")
READ_BLOCK = 1024 * 1024
# What the recorder may send (the base type, parameters aside) and the file suffix of each.
SUFFIXES = {"video/webm": ".webm", "video/mp4": ".mp4", "video/x-matroska": ".mkv"}
ALLOWED_MIME_TYPES = tuple(SUFFIXES)


class ChunkTooLarge(Exception):
    """The request body exceeded the chunk size cap; nothing was kept."""


class MissingChunk(Exception):
    """A chunk the database says arrived is not on disk (swept or withdrawn meanwhile)."""


# Chunks up to this size stay in memory until accepted: the common ~100 KB chunk then costs one
# file creation (its own), made only once the database has accepted it. Larger bodies stream
# to a temporary file as they arrive.
SPOOL_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ReceivedChunk:
    """An uploaded body: in memory (`data`) or, past SPOOL_BYTES, in a temporary file (`path`)."""

    data: bytes | None
    path: Path | None
    sha256: str
    size: int


def clip_dir(settings: Settings, clip_public_id: uuid.UUID | str) -> Path:
    return settings.clips_dir / str(clip_public_id)


def chunk_name(index: int) -> str:
    """A chunk's file name in its clip directory (CHUNK_NAME matches it)."""
    return f"{index:06d}.part"


def chunk_path(settings: Settings, clip_public_id: uuid.UUID | str, index: int) -> Path:
    return clip_dir(settings, clip_public_id) / chunk_name(index)


def incoming_dir(settings: Settings) -> Path:
    return settings.clips_dir / INCOMING


async def receive(
    stream: AsyncIterator[bytes], settings: Settings, max_bytes: int
) -> ReceivedChunk:
    """Read a request body, hashing it; ChunkTooLarge past max_bytes (nothing is kept)."""
    digest = hashlib.sha256()
    buffer = bytearray()
    handle = None
    path = None
    size = 0
    try:
        async for piece in stream:
            size += len(piece)
            if size > max_bytes:
                raise ChunkTooLarge(f"chunk is larger than {max_bytes} bytes")
            digest.update(piece)
            if handle is None and len(buffer) + len(piece) <= SPOOL_BYTES:
                buffer += piece
                continue
            if handle is None:  # too big to hold: continue on disk
                directory = incoming_dir(settings)
                directory.mkdir(parents=True, exist_ok=True)
                path = directory / f"{uuid.uuid4().hex}.tmp"
                handle = path.open("wb")
                handle.write(buffer)
                buffer.clear()
            handle.write(piece)
    except BaseException:
        if handle is not None:
            handle.close()
        if path is not None:
            path.unlink(missing_ok=True)
        raise
    if handle is not None:
        handle.close()
        return ReceivedChunk(None, path, digest.hexdigest(), size)
    return ReceivedChunk(bytes(buffer), None, digest.hexdigest(), size)


def place_chunk(received: ReceivedChunk, target: Path) -> None:
    """Write the chunk under a temporary name next to its final one, then rename it atomically:
    a reader sees the whole chunk or none of it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if received.path is not None:
        os.replace(received.path, target)
        return
    assert received.data is not None
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temp.open("wb") as handle:
            handle.write(received.data)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def discard(received: ReceivedChunk) -> None:
    """Drop a spooled body that was not kept (in-memory bodies need nothing)."""
    if received.path is not None:
        received.path.unlink(missing_ok=True)


def chunk_files(directory: Path) -> list[tuple[int, Path]]:
    """Chunk files of a clip directory in index order."""
    if not directory.is_dir():
        return []
    found = []
    for entry in directory.iterdir():
        match = CHUNK_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry))
    return sorted(found)


def fingerprint(paths: Iterable[Path]) -> tuple[str, int]:
    """sha256 and size of the files' bytes concatenated in the given order."""
    digest = hashlib.sha256()
    size = 0
    for path in paths:
        with path.open("rb") as handle:
            while block := handle.read(READ_BLOCK):
                digest.update(block)
                size += len(block)
    return digest.hexdigest(), size


def video_fingerprint(directory: Path) -> tuple[str, int]:
    """sha256 and size of a clip's video as the chunks make it up (what analysis would read)."""
    return fingerprint(path for _, path in chunk_files(directory))


def assemble(directory: Path, chunk_count: int, suffix: str) -> tuple[Path, str, int]:
    """Concatenate chunks 0..chunk_count-1 into one file (MediaRecorder chunks form one stream).

    Returns the file, its sha256 and size. The name is unique per call, so two workers that
    happen to hold the same clip never write the same file.
    """
    target = directory / f"assembled-{uuid.uuid4().hex}{suffix}"
    digest = hashlib.sha256()
    size = 0
    try:
        with target.open("wb") as out:
            for index in range(chunk_count):
                part = directory / chunk_name(index)
                try:
                    handle = part.open("rb")
                except FileNotFoundError as exc:
                    raise MissingChunk(f"chunk {index} is no longer on disk") from exc
                with handle:
                    while block := handle.read(READ_BLOCK):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target, digest.hexdigest(), size


def remove_tree(directory: Path) -> bool:
    """Delete a clip directory and everything in it; True if it existed."""
    if not directory.exists():
        return False
    shutil.rmtree(directory, ignore_errors=True)
    if directory.exists():  # a file appeared while deleting (a late chunk rename): once more
        shutil.rmtree(directory)
    return True


def suffix_for(mime_type: str) -> str:
    """File suffix for a recorder mime type such as 'video/webm;codecs=vp9'."""
    base = mime_type.split(";", 1)[0].strip().lower()
    return SUFFIXES.get(base, ".bin")
