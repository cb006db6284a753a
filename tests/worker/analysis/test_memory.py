"""Memory stays flat with clip length: frames are streamed, never held for the whole clip."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from tests.support import face_clips as fc
from worker.analysis import analyze

SIZE = (320, 240)  # 230 kB per RGB frame


def _peak_bytes(path: Path) -> int:
    tracemalloc.start()
    try:
        analyze(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_three_times_longer_clip_does_not_need_more_memory(clip_dir: Path) -> None:
    short, long = clip_dir / "mem4.webm", clip_dir / "mem12.webm"
    fc.make_face_clip(short, [], seconds=4.0, size=SIZE)
    fc.make_face_clip(long, [], seconds=12.0, size=SIZE)
    _peak_bytes(short)  # first run loads the models; measure warm
    small, large = _peak_bytes(short), _peak_bytes(long)
    # Holding the 240 extra frames would add 55 MB; the per-frame table grows by ~100 bytes a
    # frame (kB in all), and the face-count window holds ~8 frames whatever the length.
    print(f"peak traced memory: {small / 1e6:.2f} MB (4 s), {large / 1e6:.2f} MB (12 s)")
    assert large - small < 2_000_000, (small, large)
