"""The synthetic-clip generator itself: real timestamps, truth that matches the script, formats."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.support import face_clips as fc

SMALL = (320, 240)


def _decoded_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(frame.time) for frame in container.decode(video=0)]


def test_truth_follows_the_script() -> None:
    script = [
        fc.Event("smile", 1.0, 3.5, 0.8, ramp=0.5),
        fc.Event("blink", 0.5, 0.8),
        fc.Event("absent", 3.0, 3.5),
        fc.Event("bystander", 3.5, 4.0),
        fc.Event("turn", 4.0, 5.0, 40.0, ramp=0.2),
    ]
    truth = fc.compute_truth(script, fc.frame_times(5.0, 30), 30, SMALL)
    at = lambda s: int(np.searchsorted(truth.t, s))  # noqa: E731
    assert truth.smile[at(2.0)] == pytest.approx(0.8)
    assert truth.smile[at(3.2)] == 0.0  # no face, no expression
    assert truth.smile[at(0.9)] == 0.0
    assert truth.eye_closure[at(0.65)] == pytest.approx(1.0)
    assert truth.blinks == (pytest.approx(0.65),)
    assert truth.n_faces[at(3.2)] == 0 and not truth.face_present[at(3.2)]
    assert truth.n_faces[at(3.7)] == 2 and not truth.face_present[at(3.7)]
    assert truth.yaw[at(4.5)] == 40.0 and truth.smile[at(4.5)] == 0.0
    assert truth.per_second("smile")[2] == pytest.approx(0.8)


def test_unknown_event_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        fc.Event("wink", 0, 1)


@pytest.mark.parametrize("suffix", [".webm", ".mp4"])
def test_variable_frame_rate_clip_keeps_its_timestamps(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"vfr{suffix}"
    truth = fc.make_face_clip(path, [], seconds=2.0, size=SMALL, vfr=True)
    intervals = np.diff(truth.t)
    assert intervals.min() < 0.8 / 30 and intervals.max() > 1.5 / 30  # really variable
    assert _decoded_times(path) == pytest.approx(list(truth.t), abs=1e-3)


def test_live_webm_has_no_duration(tmp_path: Path) -> None:
    path = tmp_path / "live.webm"
    truth = fc.make_face_clip(path, [], seconds=1.0, size=SMALL, live=True)
    with av.open(str(path)) as container:
        assert container.duration is None
    assert len(_decoded_times(path)) == len(truth.t)


def test_y4m_has_a_header_and_raw_420_frames(tmp_path: Path) -> None:
    path = tmp_path / "cam.y4m"
    truth = fc.make_y4m(path, seconds=1.0, size=SMALL)
    data = path.read_bytes()
    header, _, body = data.partition(b"\n")
    assert header == b"YUV4MPEG2 W320 H240 F30:1 Ip A1:1 C420jpeg"
    frame_bytes = len(b"FRAME\n") + 320 * 240 * 3 // 2
    assert len(body) == frame_bytes * len(truth.t) == frame_bytes * 30


def test_bad_input_helpers(tmp_path: Path) -> None:
    fc.make_audio_only(tmp_path / "a.webm")
    with av.open(str(tmp_path / "a.webm")) as container:
        assert not container.streams.video and container.streams.audio
    fc.make_empty_video(tmp_path / "e.webm")
    assert (tmp_path / "e.webm").stat().st_size > 0
    (tmp_path / "src.bin").write_bytes(bytes(range(200)))
    fc.truncate_file(tmp_path / "src.bin", tmp_path / "half.bin", keep=0.5)
    assert (tmp_path / "half.bin").read_bytes() == bytes(range(100))
