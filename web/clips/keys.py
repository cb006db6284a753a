"""Chunks unreadable at rest: a random data key per clip seals every chunk before it is stored.

The data key lives only in the clip's database row, wrapped (AES-GCM) by a key derived from the
server secret with HKDF. Destroying the wrapped key when the clip is deleted turns every copy of
its chunks anywhere (backup, snapshot, replica) into noise.

A sealed chunk is MAGIC, a 12-byte random nonce, then AES-256-GCM ciphertext and tag; the clip's
public id and the chunk's index are bound as associated data, so a chunk cannot be moved to
another clip or another position without failing to open.
"""

from __future__ import annotations

import base64
import os
import uuid
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"CNDC1"
NONCE_BYTES = 12
KEY_BYTES = 32
WRAPPED_BYTES = NONCE_BYTES + KEY_BYTES + 16  # nonce, key, GCM tag
WRAPPED_CHARS = 80  # base64 of WRAPPED_BYTES: stored as text (no column holds raw bytes)
OVERHEAD = len(MAGIC) + NONCE_BYTES + 16
_WRAP_INFO = b"candor clip data-key wrapping v1"
_WRAP_SALT = b"candor"
_KEY_AAD = b"candor clip key\x00"
_CHUNK_AAD = b"candor chunk\x00"


class UnreadableChunk(Exception):
    """A stored chunk that does not open with its clip's key (altered, moved, or not ours)."""


class KeyDestroyed(Exception):
    """The clip's data key is gone: its video was deleted, nothing of it can be read."""


@lru_cache(maxsize=4)
def _wrapping(secret_key: str) -> AESGCM:
    """The key-wrapping cipher for a server secret (derived once per process)."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_WRAP_SALT, info=_WRAP_INFO
    ).derive(secret_key.encode())
    return AESGCM(derived)


def new_wrapped_key(secret_key: str, clip_public_id: uuid.UUID) -> str:
    """A fresh random data key for a clip, wrapped (and base64-encoded) for its database row."""
    nonce = os.urandom(NONCE_BYTES)
    key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    aad = _KEY_AAD + clip_public_id.bytes
    return base64.b64encode(nonce + _wrapping(secret_key).encrypt(nonce, key, aad)).decode()


def unwrap(secret_key: str, clip_public_id: uuid.UUID, wrapped_text: str | None) -> bytes:
    """The clip's data key; KeyDestroyed if the row holds none, UnreadableChunk if it is not
    this clip's or the server secret changed."""
    if wrapped_text is None:
        raise KeyDestroyed(f"clip {clip_public_id} has no data key (its video was deleted)")
    wrapped = base64.b64decode(wrapped_text)
    aad = _KEY_AAD + clip_public_id.bytes
    try:
        return _wrapping(secret_key).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
    except InvalidTag as exc:
        raise UnreadableChunk(
            f"the data key of clip {clip_public_id} does not unwrap (server secret changed?)"
        ) from exc


def _chunk_aad(clip_public_id: uuid.UUID, index: int) -> bytes:
    return _CHUNK_AAD + clip_public_id.bytes + index.to_bytes(8, "big")


def seal(key: bytes, clip_public_id: uuid.UUID, index: int, plain: bytes) -> bytes:
    """Encrypt one chunk for storage."""
    nonce = os.urandom(NONCE_BYTES)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, plain, _chunk_aad(clip_public_id, index))


def open_sealed(key: bytes, clip_public_id: uuid.UUID, index: int, sealed: bytes) -> bytes:
    """Decrypt one stored chunk; UnreadableChunk if it is not this clip's chunk `index`."""
    if not sealed.startswith(MAGIC) or len(sealed) < OVERHEAD:
        raise UnreadableChunk(f"chunk {index} is not a sealed Candor chunk")
    body = sealed[len(MAGIC) :]
    try:
        return AESGCM(key).decrypt(
            body[:NONCE_BYTES], body[NONCE_BYTES:], _chunk_aad(clip_public_id, index)
        )
    except InvalidTag as exc:
        raise UnreadableChunk(f"chunk {index} does not open with this clip's key") from exc


def sealed_size(plain_size: int) -> int:
    """Bytes a chunk of plain_size takes in storage."""
    return plain_size + OVERHEAD
