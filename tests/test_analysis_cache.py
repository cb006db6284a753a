"""The shared analyses of tests/support/analysis_cache.py: one computation per question, asked
again whenever the input's bytes, the arguments or the code change; processes wait for the one
computing instead of computing again."""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import analysis_cache

CALLS: list[tuple[bytes, int]] = []


def _read(path: Path, scale: int = 1) -> tuple[bytes, int]:
    CALLS.append((path.read_bytes(), scale))
    return path.read_bytes(), scale


@pytest.fixture
def cache_dir(tmp_path: Path) -> Iterator[Path]:
    """The module pointed at a folder of this test's own, put back afterwards."""
    previous = analysis_cache._folder
    CALLS.clear()
    folder = tmp_path / "cache"
    analysis_cache.configure(folder)
    yield folder
    analysis_cache._folder = previous


def test_a_question_asked_twice_is_computed_once(cache_dir: Path, tmp_path: Path) -> None:
    medium = tmp_path / "a.bin"
    medium.write_bytes(b"one")
    assert analysis_cache.shared("read", _read, medium) == (b"one", 1)
    # Another path holding the same bytes is the same input.
    twin = tmp_path / "twin.bin"
    twin.write_bytes(b"one")
    assert analysis_cache.shared("read", _read, twin) == (b"one", 1)
    assert CALLS == [(b"one", 1)]


def test_other_bytes_or_arguments_are_computed_afresh(cache_dir: Path, tmp_path: Path) -> None:
    medium = tmp_path / "a.bin"
    medium.write_bytes(b"one")
    analysis_cache.shared("read", _read, medium)
    analysis_cache.shared("read", _read, medium, scale=2)
    medium.write_bytes(b"two")
    assert analysis_cache.shared("read", _read, medium) == (b"two", 1)
    assert CALLS == [(b"one", 1), (b"one", 2), (b"two", 1)]


def test_changed_code_never_reads_an_old_answer(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    medium = tmp_path / "a.bin"
    medium.write_bytes(b"one")
    analysis_cache.shared("read", _read, medium)
    # What an edit to worker/analysis/ (or a new wheel) does to the digest.
    monkeypatch.setattr(analysis_cache, "code_digest", lambda: "edited")
    analysis_cache.configure(cache_dir)
    analysis_cache.shared("read", _read, medium)
    assert len(CALLS) == 2
    # A run of the edited code clears out the old code's entries.
    analysis_cache.prune(cache_dir)
    assert [p.name for p in cache_dir.iterdir()] == ["edited"]


def test_the_digest_covers_the_analysis_sources_and_the_lock_file() -> None:
    root = analysis_cache.ROOT
    covered = {p for folder in analysis_cache.SOURCE_DIRS for p in folder.rglob("*.py")}
    assert root / "worker" / "analysis" / "analyze_video.py" in covered
    assert root / "worker" / "analysis" / "trained.py" in covered
    assert root / "candor" / "metrics.py" in covered
    assert root / "uv.lock" in analysis_cache.EXTRA_FILES


def test_an_unreadable_entry_is_computed_again(cache_dir: Path, tmp_path: Path) -> None:
    medium = tmp_path / "a.bin"
    medium.write_bytes(b"one")
    analysis_cache.shared("read", _read, medium)
    (entry,) = (cache_dir / analysis_cache.code_digest()).glob("*.pickle")
    entry.write_bytes(b"\x80\x05truncated")
    assert analysis_cache.shared("read", _read, medium) == (b"one", 1)
    assert len(CALLS) == 2
    assert pickle.loads(entry.read_bytes()) == (b"one", 1)


def test_switched_off_it_computes_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = analysis_cache._folder
    monkeypatch.setenv("CANDOR_TEST_ANALYSIS_CACHE", "0")
    try:
        analysis_cache.configure(tmp_path / "cache")
        medium = tmp_path / "a.bin"
        medium.write_bytes(b"one")
        CALLS.clear()
        analysis_cache.shared("read", _read, medium)
        analysis_cache.shared("read", _read, medium)
        assert len(CALLS) == 2
        assert not (tmp_path / "cache").exists()
    finally:
        analysis_cache._folder = previous


def _count_in(folder: str, medium: str, log: str) -> None:
    def slow(path: Path) -> bytes:
        with open(log, "a") as out:
            out.write("computed\n")
        return path.read_bytes()

    analysis_cache.configure(Path(folder))
    assert analysis_cache.shared("slow", slow, Path(medium)) == b"one"


def test_processes_share_one_computation(tmp_path: Path) -> None:
    medium = tmp_path / "a.bin"
    medium.write_bytes(b"one")
    log = tmp_path / "computed.log"
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_count_in, args=(str(tmp_path / "cache"), str(medium), str(log)))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert log.read_text() == "computed\n"


def test_a_progress_callback_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="side effect"):
        analysis_cache.analysed(tmp_path / "a.webm", on_progress=print)
