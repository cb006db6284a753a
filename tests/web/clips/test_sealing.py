"""Chunks sealed with a per-clip key: unreadable without it, bound to their clip and index."""

from __future__ import annotations

import uuid

import pytest

from web.clips import keys

SECRET = "test-secret-key-that-is-long-enough-0123456789"
WEBM_MAGIC = b"\x1a\x45\xdf\xa3"  # the EBML header every WebM file starts with


def test_a_sealed_chunk_opens_only_with_its_key_clip_and_index() -> None:
    clip = uuid.uuid4()
    key = keys.unwrap(SECRET, clip, keys.new_wrapped_key(SECRET, clip))
    plain = WEBM_MAGIC + b"a recorded second of video" * 100
    sealed = keys.seal(key, clip, 3, plain)
    assert len(sealed) == keys.sealed_size(len(plain))
    assert keys.open_sealed(key, clip, 3, sealed) == plain
    # Not video, and none of the uploaded bytes appear in it.
    assert not sealed.startswith(WEBM_MAGIC) and WEBM_MAGIC not in sealed
    assert b"recorded second" not in sealed
    with pytest.raises(keys.UnreadableChunk):  # swapped into another position
        keys.open_sealed(key, clip, 4, sealed)
    with pytest.raises(keys.UnreadableChunk):  # moved to another clip
        keys.open_sealed(key, uuid.uuid4(), 3, sealed)
    other = keys.unwrap(SECRET, clip, keys.new_wrapped_key(SECRET, clip))
    with pytest.raises(keys.UnreadableChunk):  # another clip's key
        keys.open_sealed(other, clip, 3, sealed)
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(keys.UnreadableChunk):
        keys.open_sealed(key, clip, 3, bytes(tampered))


def test_the_same_chunk_sealed_twice_differs() -> None:
    """A fresh nonce per chunk: equal plaintexts never give equal ciphertexts."""
    clip = uuid.uuid4()
    key = keys.unwrap(SECRET, clip, keys.new_wrapped_key(SECRET, clip))
    assert keys.seal(key, clip, 0, b"same") != keys.seal(key, clip, 0, b"same")


def test_a_wrapped_key_needs_the_server_secret_and_its_clip() -> None:
    clip = uuid.uuid4()
    wrapped = keys.new_wrapped_key(SECRET, clip)
    assert len(wrapped) == keys.WRAPPED_CHARS
    assert len(keys.unwrap(SECRET, clip, wrapped)) == keys.KEY_BYTES
    with pytest.raises(keys.UnreadableChunk):
        keys.unwrap("another-secret-key-that-is-long-enough-000", clip, wrapped)
    with pytest.raises(keys.UnreadableChunk):
        keys.unwrap(SECRET, uuid.uuid4(), wrapped)
    with pytest.raises(keys.KeyDestroyed):
        keys.unwrap(SECRET, clip, None)
