"""Every kind of bad input gets its own clear, one-line error; odd but valid inputs work."""

from __future__ import annotations

import inspect
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support import face_clips as fc
from worker.analysis import (
    AnalysisError,
    ClipNotFound,
    NoFrames,
    NotAVideo,
    NoVideoStream,
    Settings,
    TruncatedVideo,
    analyze,
)
from worker.analysis.decode import VideoReader

SMALL = (320, 240)
# Decoding tests compare every frame with the generator's; the analysis reads 15 a second.
EVERY_FRAME = Settings(fps=None)


def _expect(error_type: type[AnalysisError], path: Path, words: str) -> None:
    with pytest.raises(error_type) as caught:
        analyze(path)
    message = str(caught.value)
    assert "\n" not in message and words in message, message
    assert isinstance(caught.value, AnalysisError)


@pytest.fixture(scope="module")
def four_second_webm(clip_dir: Path) -> Path:
    path = clip_dir / "four.webm"
    fc.make_face_clip(path, [], seconds=4.0, size=SMALL)
    return path


def test_missing_file(tmp_path: Path) -> None:
    _expect(ClipNotFound, tmp_path / "nope.webm", "no such file")


def test_a_directory(tmp_path: Path) -> None:
    _expect(ClipNotFound, tmp_path, "not a file")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.webm"
    path.touch()
    _expect(NotAVideo, path, "empty (0 bytes)")


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    _expect(NotAVideo, path, "notes.mp4 is not a video file")


def test_still_image(tmp_path: Path) -> None:
    path = tmp_path / "photo.mp4"
    cv2.imwrite(str(path.with_suffix(".png")), np.zeros((48, 64, 3), np.uint8))
    path.write_bytes(path.with_suffix(".png").read_bytes())
    _expect(NotAVideo, path, "still image")


@pytest.mark.parametrize("name", ["voice.webm", "voice.m4a"])
def test_audio_only(tmp_path: Path, name: str) -> None:
    fc.make_audio_only(tmp_path / name)
    _expect(NoVideoStream, tmp_path / name, "no video track (only audio)")


@pytest.mark.parametrize("name", ["empty.webm", "empty.mp4"])
def test_video_with_no_frames(tmp_path: Path, name: str) -> None:
    fc.make_empty_video(tmp_path / name)
    _expect(NoFrames, tmp_path / name, "no frames")


def test_truncated_webm(tmp_path: Path, four_second_webm: Path) -> None:
    # The header declares 4 s; half the bytes hold about 2 s of frames.
    fc.truncate_file(four_second_webm, tmp_path / "cut.webm", keep=0.5)
    _expect(TruncatedVideo, tmp_path / "cut.webm", "truncated: frames stop at")


def test_truncated_mp4(tmp_path: Path) -> None:
    # A recorder writes an mp4's index (moov) last: cut short, the file has none.
    fc.make_face_clip(tmp_path / "whole.mp4", [], seconds=2.0, size=SMALL)
    fc.truncate_file(tmp_path / "whole.mp4", tmp_path / "cut.mp4", keep=0.7)
    _expect(TruncatedVideo, tmp_path / "cut.mp4", "truncated or damaged")


def test_a_live_webm_cut_short_is_analysed_up_to_its_last_frame(
    tmp_path: Path, short_webm: tuple[Path, fc.Truth]
) -> None:
    # MediaRecorder's webm declares no duration, so a cut cannot be told from a short take:
    # what arrived is analysed (a closed tab keeps what it uploaded).
    fc.truncate_file(short_webm[0], tmp_path / "cut.webm", keep=0.6)
    result = analyze(tmp_path / "cut.webm")
    assert 1.0 < result.quality.duration_s < 2.5


@pytest.mark.parametrize(("name", "codec"), [("clip.mov", "h264"), ("clip.webm", "vp9")])
def test_other_containers_and_codecs(tmp_path: Path, name: str, codec: str) -> None:
    truth = fc.make_face_clip(tmp_path / name, [], seconds=1.0, size=SMALL, codec=codec)
    result = analyze(tmp_path / name, settings=EVERY_FRAME)
    assert len(result.frames["t"]) == len(truth.t)
    assert result.quality.face_found_share == 1.0
    assert result.provenance["decoder"]["codec"] == codec


def test_variable_frame_rate_webm_without_duration(short_webm: tuple[Path, fc.Truth]) -> None:
    path, truth = short_webm
    result = analyze(path, settings=EVERY_FRAME)
    assert result.frames["t"] == pytest.approx(truth.t, abs=1e-3)
    assert result.quality.duration_s == pytest.approx(3.0, abs=0.1)
    assert result.seconds["n_frames"].sum() == len(truth.t)


def test_fps_subsamples_on_real_timestamps(short_webm: tuple[Path, fc.Truth]) -> None:
    path, _ = short_webm
    progress: list[float] = []
    result = analyze(path, fps=10, on_progress=progress.append)
    t = result.frames["t"]
    assert 28 <= len(t) <= 30  # one frame per 0.1 s slot of a 3 s clip
    assert np.all(np.diff(t) > 0.05)
    assert result.provenance["settings"]["fps"] == 10.0
    assert progress[-1] == 1.0 and progress == sorted(progress)


@pytest.mark.parametrize("fps", [0.0, -5.0, float("nan")])
def test_nonsense_fps_is_refused(short_webm: tuple[Path, fc.Truth], fps: float) -> None:
    with pytest.raises(ValueError, match="fps must be a positive number"):
        analyze(short_webm[0], fps=fps)


def test_decoding_is_a_stream(four_second_webm: Path) -> None:
    with VideoReader(four_second_webm) as reader:
        frames = reader.frames()
        assert inspect.isgenerator(frames)
        first = next(frames)
        assert first.t == 0.0 and first.rgb.shape == (240, 320, 3)
        frames.close()
