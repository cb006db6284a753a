"""Where sealed chunks are kept: a local directory (the embedded default) or an S3-compatible
object store, chosen by `CANDOR_CLIP_STORE`. Both hold only sealed bytes (see `keys`).

Layout, in both: `{clip_public_id}/{index:06d}.part`, under `clips_dir` or the bucket's prefix.
Deletion means gone: the object store refuses a bucket that keeps old versions.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from web.settings import Settings

T = TypeVar("T")

CHUNK_NAME = re.compile(r"^(\d{6,})\.part$")
DELETE_BATCH = 1000  # the most keys one S3 DeleteObjects call takes


class MissingChunk(Exception):
    """A chunk the database says arrived is not in the store (swept or withdrawn meanwhile)."""


class StoreMisconfigured(Exception):
    """The clip store cannot be used as configured (say, a bucket that keeps old versions)."""


@dataclass(frozen=True)
class StoredClip:
    """What the store holds under one clip name: its chunks' indices and newest write."""

    name: str
    indices: tuple[int, ...]
    newest: datetime
    bytes: int


def chunk_name(index: int) -> str:
    return f"{index:06d}.part"


class ClipStore(Protocol):
    """Sealed chunks by clip public id and index."""

    kind: str

    def put(self, clip: str, index: int, data: bytes) -> None:
        """Store a chunk whole or not at all."""

    def get(self, clip: str, index: int) -> bytes:
        """A stored chunk's bytes; MissingChunk if it is not there."""

    def indices(self, clip: str) -> list[int]:
        """Indices of the clip's stored chunks, in order."""

    def remove(self, clip: str, indices: Sequence[int] | None = None) -> int:
        """Delete the given chunks (None: all of the clip); how many were there."""

    def stored(self) -> Iterator[StoredClip]:
        """Every clip name the store holds chunks for (for the sweeper)."""

    def check(self) -> None:
        """Raise if the store cannot take chunks now (for the health check)."""


class LocalStore:
    """Chunks as files under `clips_dir`, written under a temporary name and renamed into place."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, clip: str) -> Path:
        return self.root / clip

    def put(self, clip: str, index: int, data: bytes) -> None:
        # Runs for every uploaded chunk: plain strings, and the clip's directory is made only
        # when the first write finds it missing.
        directory = os.path.join(self.root, clip)
        name = chunk_name(index)
        temp = os.path.join(directory, f".{name}.{uuid.uuid4().hex}.tmp")
        try:
            handle = open(temp, "wb")  # noqa: SIM115  (closed below)
        except FileNotFoundError:
            os.makedirs(directory, exist_ok=True)
            handle = open(temp, "wb")  # noqa: SIM115
        try:
            with handle:
                handle.write(data)
            os.replace(temp, os.path.join(directory, name))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise

    def get(self, clip: str, index: int) -> bytes:
        try:
            return (self._dir(clip) / chunk_name(index)).read_bytes()
        except FileNotFoundError as exc:
            raise MissingChunk(f"chunk {index} is no longer stored") from exc

    def _files(self, directory: Path) -> list[tuple[int, Path]]:
        if not directory.is_dir():
            return []
        found = []
        for entry in directory.iterdir():
            match = CHUNK_NAME.match(entry.name)
            if match:
                found.append((int(match.group(1)), entry))
        return sorted(found)

    def indices(self, clip: str) -> list[int]:
        return [index for index, _path in self._files(self._dir(clip))]

    def remove(self, clip: str, indices: Sequence[int] | None = None) -> int:
        directory = self._dir(clip)
        if indices is not None:
            removed = 0
            for index in indices:
                path = directory / chunk_name(index)
                if path.exists():
                    path.unlink(missing_ok=True)
                    removed += 1
            return removed
        count = len(self._files(directory))
        if directory.exists():
            shutil.rmtree(directory, ignore_errors=True)
            if directory.exists():  # a late chunk rename landed while deleting: once more
                shutil.rmtree(directory)
        return count

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise OSError(f"{self.root} is not writable")

    def stored(self) -> Iterator[StoredClip]:
        if not self.root.is_dir():
            return
        for entry in sorted(self.root.iterdir()):
            if not entry.is_dir() or entry.name.startswith("."):
                continue
            files = [p for p in entry.rglob("*") if p.is_file()]
            stamps = [p.stat().st_mtime for p in files] or [entry.stat().st_mtime]
            yield StoredClip(
                name=entry.name,
                indices=tuple(index for index, _path in self._files(entry)),
                newest=datetime.fromtimestamp(max(stamps), UTC),
                bytes=sum(p.stat().st_size for p in files),
            )


class S3Store:
    """Chunks as objects in an S3-compatible bucket (AWS S3, MinIO, SeaweedFS, Ceph)."""

    kind = "s3"

    def __init__(self, settings: Settings) -> None:
        # Imported here: the embedded default never needs boto3 loaded.
        import boto3
        from botocore.config import Config

        if not settings.s3_bucket:
            raise StoreMisconfigured("CANDOR_S3_BUCKET must name a bucket for CANDOR_CLIP_STORE=s3")
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix
        config = Config(
            s3={"addressing_style": "path" if settings.s3_path_style else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
            max_pool_connections=64,  # the web's threadpool stores chunks concurrently
        )
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id or None,
            aws_secret_access_key=settings.s3_secret_access_key or None,
            config=config,
        )
        self._check_bucket(create=settings.s3_create_bucket)

    def _check_bucket(self, *, create: bool) -> None:
        """Deletion must mean gone: refuse a bucket that keeps old versions of deleted objects."""
        from botocore.exceptions import ClientError

        try:
            status = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code not in ("NoSuchBucket", "404") or not create:
                raise StoreMisconfigured(f"bucket {self.bucket!r} is not usable: {exc}") from exc
            self.client.create_bucket(Bucket=self.bucket)
            status = None
        if status in ("Enabled", "Suspended"):
            raise StoreMisconfigured(
                f"bucket {self.bucket!r} has versioning {status.lower()}: a deleted chunk would "
                "survive as an old version; use a bucket that never had versioning"
            )

    def check(self) -> None:
        self._check_bucket(create=False)

    def _key(self, clip: str, index: int) -> str:
        return f"{self.prefix}{clip}/{chunk_name(index)}"

    def put(self, clip: str, index: int, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(clip, index), Body=data)

    def get(self, clip: str, index: int) -> bytes:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(clip, index))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise MissingChunk(f"chunk {index} is no longer stored") from exc
            raise
        body: bytes = answer["Body"].read()
        return body

    def _objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            yield from page.get("Contents", [])

    def _index(self, key: str) -> int | None:
        match = CHUNK_NAME.match(key.rsplit("/", 1)[-1])
        return int(match.group(1)) if match else None

    def indices(self, clip: str) -> list[int]:
        found = (self._index(item["Key"]) for item in self._objects(f"{self.prefix}{clip}/"))
        return sorted(index for index in found if index is not None)

    def remove(self, clip: str, indices: Sequence[int] | None = None) -> int:
        if indices is None:
            keys = [item["Key"] for item in self._objects(f"{self.prefix}{clip}/")]
        else:
            wanted = set(indices)
            keys = [
                item["Key"]
                for item in self._objects(f"{self.prefix}{clip}/")
                if self._index(item["Key"]) in wanted
            ]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start : start + DELETE_BATCH]]
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise OSError(f"object store refused to delete {first.get('Key')}: {first}")
        return len(keys)

    def stored(self) -> Iterator[StoredClip]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for item in self._objects(self.prefix):
            name = item["Key"][len(self.prefix) :].split("/", 1)[0]
            groups.setdefault(name, []).append(item)
        for name, items in sorted(groups.items()):
            found = (self._index(item["Key"]) for item in items)
            yield StoredClip(
                name=name,
                indices=tuple(sorted(index for index in found if index is not None)),
                newest=max(item["LastModified"] for item in items),
                bytes=sum(int(item["Size"]) for item in items),
            )


_stores: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


def per_process(identity: tuple[Any, ...], build: Callable[[], T]) -> T:
    """The object built for ``identity`` in this process, built once (under a lock) and kept:
    stores hold clients that are not fork-safe, so the process id is part of every identity."""
    key = (os.getpid(), *identity)
    found = _stores.get(key)
    if found is not None:
        return cast(T, found)
    with _lock:
        found = _stores.get(key)
        if found is None:
            found = _stores[key] = build()
    return cast(T, found)


@functools.lru_cache(maxsize=64)
def _resolved(path: str) -> str:
    """A directory's absolute path (resolved once: this runs for every chunk)."""
    return str(Path(path).resolve())


def clip_store(settings: Settings) -> ClipStore:
    """The store the settings name, built once per process (a client is not fork-safe)."""
    identity = (
        "clips",
        settings.clip_store,
        _resolved(str(settings.clips_dir)),
        settings.s3_endpoint_url,
        settings.s3_bucket,
        settings.s3_prefix,
        settings.s3_access_key_id,
    )

    def build() -> ClipStore:
        if settings.clip_store == "local":
            return LocalStore(settings.clips_dir)
        if settings.clip_store == "s3":
            return S3Store(settings)
        raise StoreMisconfigured(f"unknown CANDOR_CLIP_STORE {settings.clip_store!r}")

    return per_process(identity, build)
