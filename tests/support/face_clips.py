"""Test-only media around the synthetic face clips of candor/synthetic/face_clips.py (which the
demo's sample panelists use at run time too): everything there is re-exported here, so tests keep
one import.

    truth = make_y4m(path, seconds=10)             # raw 4:2:0 for Chromium's fake webcam
    make_audio_only(path); make_empty_video(path); truncate_file(src, dst, keep=0.5)
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import av
import cv2
import numpy as np

from candor.synthetic.face_clips import (
    BLINK_SECONDS,
    CODECS,
    DEFAULT_CODEC,
    EXPRESSIONS,
    KINDS,
    Event,
    Truth,
    calm_script,
    compute_truth,
    default_script,
    frame_times,
    make_face_clip,
    render_frames,
    write_video,
)

__all__ = [
    "BLINK_SECONDS",
    "EXPRESSIONS",
    "KINDS",
    "Event",
    "Truth",
    "calm_script",
    "compute_truth",
    "copy_clip",
    "default_script",
    "frame_times",
    "make_audio_only",
    "make_empty_video",
    "make_face_clip",
    "make_y4m",
    "render_frames",
    "truncate_file",
    "write_video",
]


def make_y4m(
    path: str | Path,
    seconds: float = 10.0,
    script: Sequence[Event] | None = None,
    *,
    fps: int = 30,
    size: tuple[int, int] = (640, 480),
) -> Truth:
    """Raw YUV4MPEG2 (4:2:0) for Chromium's --use-file-for-fake-video-capture; loops in Chrome."""
    width, height = size
    if width % 2 or height % 2:
        raise ValueError("y4m 4:2:0 needs an even width and height")
    script = calm_script(seconds) if script is None else list(script)
    truth, frames = render_frames(script, seconds, fps=fps, size=size)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return truth


def make_audio_only(path: str | Path, seconds: float = 2.0) -> None:
    """A file with a sine-tone audio track and no video (webm: Opus, m4a/mp4: AAC)."""
    path = Path(path)
    codec = "libopus" if path.suffix.lower() in (".webm", ".mkv", ".ogg") else "aac"
    rate = 48000
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        samples = 0.2 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate)
        chunk = 960
        for start in range(0, samples.size - chunk + 1, chunk):
            frame = av.AudioFrame.from_ndarray(
                samples[None, start : start + chunk].astype(np.float32), format="flt", layout="mono"
            )
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def make_empty_video(path: str | Path, size: tuple[int, int] = (640, 480)) -> None:
    """A container whose header declares a video track, with no frame after it.

    (A webm keeps the track in its header; an mp4 drops an empty track and keeps no streams.)
    """
    path = Path(path)
    codec = CODECS[DEFAULT_CODEC.get(path.suffix.lower(), "vp8")]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        container.start_encoding()  # write the header even though no frame follows


def truncate_file(src: str | Path, dst: str | Path, keep: float = 0.5) -> None:
    """Copy the first ``keep`` share of a file's bytes, as an interrupted upload would."""
    if not 0 < keep < 1:
        raise ValueError("keep must be between 0 and 1")
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * keep)])


def copy_clip(src: str | Path, dst: str | Path) -> Path:
    """Copy a cached clip to where a test may consume (or delete) it."""
    return Path(shutil.copyfile(src, dst))
