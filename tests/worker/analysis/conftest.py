"""Clips with known truth, generated once per test session, and their analyses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import face_clips as fc
from tests.support.analysis_cache import analysed
from worker.analysis import AnalysisResult


@dataclass(frozen=True)
class Analysed:
    """A generated clip, its truth and the analysis of it."""

    path: Path
    truth: fc.Truth
    result: AnalysisResult


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


def _analysed(path: Path, truth: fc.Truth) -> Analysed:
    return Analysed(path, truth, analysed(path))


@pytest.fixture(scope="session")
def default_webm(clip_dir: Path) -> Analysed:
    """The default script (every event) as a browser would record it: VP8 webm, 30 fps."""
    path = clip_dir / "default.webm"
    return _analysed(path, fc.make_face_clip(path, fc.default_script()))


@pytest.fixture(scope="session")
def default_mp4(clip_dir: Path) -> Analysed:
    """The same script as Safari would record it: H.264 mp4."""
    path = clip_dir / "default.mp4"
    return _analysed(path, fc.make_face_clip(path, fc.default_script()))


@pytest.fixture(scope="session")
def short_webm(clip_dir: Path) -> tuple[Path, fc.Truth]:
    """A 3 s webm as MediaRecorder writes it: variable frame rate, no duration in the header."""
    path = clip_dir / "short.webm"
    truth = fc.make_face_clip(
        path,
        [fc.Event("smile", 1.0, 3.0, ramp=0.5), fc.Event("blink", 0.5, 0.8)],
        seconds=3.0,
        live=True,
        vfr=True,
    )
    return path, truth
