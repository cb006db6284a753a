"""Both clip stores, the local directory and a real S3-compatible server (SeaweedFS)."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import on_s3
from tests.support.seaweed import S3Server
from web.clips import objects
from web.settings import Settings


def test_chunks_round_trip_and_are_gone_when_removed(store_settings: Settings) -> None:
    store = objects.clip_store(store_settings)
    clip, other = str(uuid.uuid4()), str(uuid.uuid4())
    store.put(clip, 1, b"second")
    store.put(clip, 0, b"first")
    store.put(clip, 2, b"third")
    store.put(other, 0, b"another clip")
    store.put(clip, 1, b"second")  # the same chunk again replaces it
    assert store.get(clip, 0) == b"first" and store.get(clip, 1) == b"second"
    assert store.indices(clip) == [0, 1, 2]
    held = {found.name: found for found in store.stored()}
    assert set(held) == {clip, other}
    assert held[clip].indices == (0, 1, 2) and held[clip].bytes == 16

    assert store.remove(clip, [2, 7]) == 1
    assert store.indices(clip) == [0, 1]
    assert store.remove(clip) == 2
    assert store.indices(clip) == []
    with pytest.raises(objects.MissingChunk):
        store.get(clip, 0)
    assert [found.name for found in store.stored()] == [other]
    assert store.remove(clip) == 0


def test_the_object_store_refuses_a_bucket_that_keeps_old_versions(
    settings: Settings, s3_server: S3Server
) -> None:
    """A versioned bucket keeps a deleted chunk as an old version: deletion would not mean gone."""
    versioned = on_s3(settings, s3_server, bucket=f"versioned-{uuid.uuid4().hex[:12]}")
    client = objects.clip_store(on_s3(settings, s3_server)).client  # type: ignore[attr-defined]
    client.create_bucket(Bucket=versioned.s3_bucket)
    client.put_bucket_versioning(
        Bucket=versioned.s3_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    with pytest.raises(objects.StoreMisconfigured, match="versioning"):
        objects.clip_store(versioned)


def test_a_missing_bucket_is_refused_unless_creating_it_is_allowed(
    settings: Settings, s3_server: S3Server
) -> None:
    name = f"missing-{uuid.uuid4().hex[:12]}"
    refused = on_s3(settings, s3_server, bucket=name).model_copy(update={"s3_create_bucket": False})
    with pytest.raises(objects.StoreMisconfigured, match=name):
        objects.clip_store(refused)
    store = objects.clip_store(on_s3(settings, s3_server, bucket=name))
    store.put("x", 0, b"ok")
    assert store.get("x", 0) == b"ok"
