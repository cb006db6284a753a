"""Where ad files live: videos, posters and their pictures (web/studies/thumbnails.py), by key.

Beside the clips (`CANDOR_AD_STORE`, by default whatever `CANDOR_CLIP_STORE` is): a local
directory (`data_dir/ads`, one web host) or the clips' S3-compatible bucket under
`CANDOR_S3_ADS_PREFIX`, so every web process behind a load balancer serves the same ads.
Keys are Candor's own (`{study_id}/{hex}.mp4`, `frames/...`), never a user's text.

Served through Candor (web/ad_serving.py): whoever may see the ad is checked by the route
first; the answer takes Range requests, so a <video> element can seek, from either store.
An install that moves from the local store to S3 keeps serving the files still on its own
disk (`legacy`) until they are copied into the bucket (docs/deploy.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from web.clips.objects import per_process
from web.errors import NotFound
from web.settings import Settings

READ_PIECE = 256 * 1024  # bytes per read of a streamed answer


class AdStore(Protocol):
    """Ad files by key."""

    kind: str

    def put_file(self, key: str, path: Path) -> None:
        """Move a local file into the store under `key` (the file is gone afterwards)."""

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store `data` whole under `key` (a reader sees all of it or none)."""

    def get_bytes(self, key: str) -> bytes | None:
        """The bytes under `key`, or None."""

    def size(self, key: str) -> int | None:
        """The size of `key`, or None if it is not stored."""

    def local_path(self, key: str) -> Path | None:
        """A file on this host holding `key` (the local store), else None."""

    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes start..end (inclusive) of `key`, in pieces."""

    def remove(self, keys: list[str], prefixes: list[str]) -> None:
        """Delete these keys and everything under these prefixes (missing ones are fine)."""


def _inside(root: Path, key: str) -> Path:
    """root/key, refusing any key that would leave root (keys are ours, but be sure)."""
    base = root.resolve()
    path = (base / key).resolve()
    if not path.is_relative_to(base) or path == base:
        raise NotFound("No such file")
    return path


class LocalAdStore:
    """Ad files under `data_dir/ads`."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def put_file(self, key: str, path: Path) -> None:
        target = _inside(self.root, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)

    def put_bytes(self, key: str, data: bytes) -> None:
        target = _inside(self.root, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def get_bytes(self, key: str) -> bytes | None:
        path = self.local_path(key)
        return path.read_bytes() if path is not None else None

    def size(self, key: str) -> int | None:
        path = self.local_path(key)
        return path.stat().st_size if path is not None else None

    def local_path(self, key: str) -> Path | None:
        path = _inside(self.root, key)
        return path if path.is_file() else None

    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        path = _inside(self.root, key)
        with path.open("rb") as handle:
            handle.seek(start)
            left = end - start + 1
            while left > 0 and (piece := handle.read(min(READ_PIECE, left))):
                left -= len(piece)
                yield piece

    def remove(self, keys: list[str], prefixes: list[str]) -> None:
        for key in keys:
            _inside(self.root, key).unlink(missing_ok=True)
        for prefix in prefixes:
            shutil.rmtree(_inside(self.root, prefix), ignore_errors=True)


class S3AdStore:
    """Ad files as objects in the clips' bucket, under their own prefix."""

    kind = "s3"

    def __init__(self, settings: Settings) -> None:
        from web.clips.objects import S3Store

        clips = S3Store(settings)  # the same bucket, client settings and checks as the clips
        self.client: Any = clips.client
        self.bucket = clips.bucket
        self.prefix = settings.s3_ads_prefix
        self.legacy = LocalAdStore(settings.ads_dir)

    def _key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise NotFound("No such file")
        return f"{self.prefix}{key}"

    def put_file(self, key: str, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, self._key(key))
        path.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def _missing(self, exc: Exception) -> bool:
        error = getattr(exc, "response", {}).get("Error", {})
        return error.get("Code") in ("NoSuchKey", "404", "NotFound")

    def get_bytes(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if self._missing(exc):
                return self.legacy.get_bytes(key)
            raise
        data: bytes = answer["Body"].read()
        return data

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if self._missing(exc):
                return self.legacy.size(key)
            raise
        return int(head["ContentLength"])

    def local_path(self, key: str) -> Path | None:
        return None

    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(
                Bucket=self.bucket, Key=self._key(key), Range=f"bytes={start}-{end}"
            )
        except ClientError as exc:
            if self._missing(exc):
                yield from self.legacy.read(key, start, end)
                return
            raise
        body = answer["Body"]
        try:
            while piece := body.read(READ_PIECE):
                yield piece
        finally:
            body.close()

    def remove(self, keys: list[str], prefixes: list[str]) -> None:
        names = [self._key(key) for key in keys]
        for prefix in prefixes:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(prefix.rstrip("/")) + "/"
            )
            names += [item["Key"] for page in pages for item in page.get("Contents", [])]
        for start in range(0, len(names), 1000):  # the most one DeleteObjects call takes
            batch = [{"Key": name} for name in names[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        self.legacy.remove(keys, prefixes)


def ad_store(settings: Settings) -> AdStore:
    """The store the settings name, built once per process (a client is not fork-safe)."""
    kind = settings.ad_store or settings.clip_store
    identity = (
        "ads",
        kind,
        str(settings.ads_dir),
        settings.s3_endpoint_url,
        settings.s3_bucket,
        settings.s3_ads_prefix,
        settings.s3_access_key_id,
    )

    def build() -> AdStore:
        if kind == "local":
            return LocalAdStore(settings.ads_dir)
        if kind == "s3":
            return S3AdStore(settings)
        raise ValueError(f"unknown CANDOR_AD_STORE {kind!r}")

    return per_process(identity, build)


@contextlib.contextmanager
def local_copy(settings: Settings, key: str) -> Iterator[Path | None]:
    """A file on this host holding `key` for as long as the block runs (a decoder needs one):
    the stored file itself with the local store, a temporary copy with S3; None if missing."""
    store = ad_store(settings)
    path = store.local_path(key)
    if path is not None or store.kind == "local":
        yield path
        return
    size = store.size(key)
    if size is None:
        yield None
        return
    with tempfile.NamedTemporaryFile(prefix="candor-ad-", suffix=Path(key).suffix) as temp:
        for piece in store.read(key, 0, max(0, size - 1)):
            temp.write(piece)
        temp.flush()
        yield Path(temp.name)
