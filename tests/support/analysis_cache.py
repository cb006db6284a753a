"""Analyses of test media made once and shared: by the tests of one run, by the processes of a
parallel run (pytest-xdist workers wait on a file lock for the one that is computing), and by
later runs while nothing that could change the answer has changed.

    result = analysed(path)                      # worker.analysis.analyze(path), shared
    result = analysed(path, fps=10)              # keyword arguments are part of the key
    records = shared("reference_records", reference_records, path)

A result is kept under the pytest cache directory (.pytest_cache/d/candor-analyses) and found by
a key made of:
- the sha256 of every input file's bytes,
- the function's name and its arguments (repr: Settings is a frozen dataclass),
- ANALYSIS_VERSION and a digest of every Python source under worker/analysis/ and candor/ (all
  the analysis imports), of this file, of uv.lock, and of the name and version of every installed
  distribution (the models ship inside pinned wheels: a changed wheel is a changed version), and
  the Python version.
So editing one line of the analysis, upgrading a wheel or swapping a medium makes a new key and a
fresh computation; a stale entry can never answer. Entries of other digests are removed when a
run starts. `pytest --cache-clear` empties the cache; CANDOR_TEST_ANALYSIS_CACHE=0 turns it off
(each call computes, as before).

Only pure calls belong here: fixtures that analyse a medium and read the result. A test whose
subject is the call itself (progress callbacks, monkeypatched models, errors) calls analyze.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
# Everything the analysis runs: its own package and the shared candor package it imports.
SOURCE_DIRS = (ROOT / "worker" / "analysis", ROOT / "candor")
EXTRA_FILES = (Path(__file__).resolve(), ROOT / "uv.lock")
FOLDER_NAME = "candor-analyses"

_folder: Path | None = None


def configure(cache_dir: Path | None) -> None:
    """Keep results under ``cache_dir`` (None: compute every call). Called by tests/conftest.py
    with the pytest cache's folder; with ``prune``, entries of other code digests are removed."""
    global _folder
    if cache_dir is None or os.environ.get("CANDOR_TEST_ANALYSIS_CACHE", "1") == "0":
        _folder = None
        return
    _folder = cache_dir / code_digest()
    _folder.mkdir(parents=True, exist_ok=True)


def prune(cache_dir: Path) -> None:
    """Remove the entries of every other code digest (left by earlier versions of the code)."""
    if not cache_dir.is_dir():
        return
    current = code_digest()
    for entry in cache_dir.iterdir():
        if entry.is_dir() and entry.name != current:
            for file in entry.iterdir():
                file.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # another process wrote into it meanwhile
                entry.rmdir()


@cache
def code_digest() -> str:
    """A digest of everything that can change an analysis's answer, short of its inputs."""
    from worker.analysis import ANALYSIS_VERSION

    digest = hashlib.sha256()
    digest.update(f"{ANALYSIS_VERSION}\0{sys.version}\0".encode())
    files = sorted(p for folder in SOURCE_DIRS for p in folder.rglob("*.py"))
    for path in (*files, *EXTRA_FILES):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    installed = sorted(
        f"{dist.metadata['Name']}=={dist.version}".lower() for dist in metadata.distributions()
    )
    digest.update("\n".join(installed).encode())
    return digest.hexdigest()[:24]


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _key(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [name]
    for arg in args:
        # A path stands for its bytes: the same medium anywhere is the same input.
        parts.append(f"file:{_file_digest(arg)}" if isinstance(arg, Path) else repr(arg))
    parts.extend(f"{key}={value!r}" for key, value in sorted(kwargs.items()))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def shared(name: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)``, computed once for every test process and run that asks the
    same question of the same code (Path arguments are keyed by their bytes, the rest by repr).
    ``name`` names the function in the key (two functions must not share a name)."""
    if _folder is None:
        return function(*args, **kwargs)
    args = tuple(Path(a) if isinstance(a, os.PathLike) else a for a in args)
    entry = _folder / f"{_key(name, args, kwargs)}.pickle"
    with open(entry.with_suffix(".lock"), "a+b") as lock:
        # One process computes; the others wait here and then read its result.
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if entry.is_file():
                try:
                    with open(entry, "rb") as handle:
                        value: T = pickle.load(handle)
                    return value
                except (EOFError, pickle.UnpicklingError, AttributeError, ImportError):
                    entry.unlink(missing_ok=True)  # unreadable: computed again below
            value = function(*args, **kwargs)
            with tempfile.NamedTemporaryFile(dir=_folder, suffix=".partial", delete=False) as out:
                pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(out.name, entry)
            return value
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def analysed(path: str | os.PathLike[str], **kwargs: Any) -> Any:
    """``worker.analysis.analyze(path, **kwargs)``, shared (see the module's docstring)."""
    from worker.analysis import analyze

    if "on_progress" in kwargs:
        raise TypeError("a progress callback is a side effect: call analyze itself")
    return shared("worker.analysis.analyze", analyze, Path(path), **kwargs)
