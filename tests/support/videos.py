"""Tiny real videos made with PyAV, for upload tests: colour frames whose length is known."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

# Container format and encoder per file kind; all are in PyAV's bundled FFmpeg.
FORMATS = {
    "mp4": ("mp4", "libx264"),
    "mov": ("mov", "libx264"),
    "webm": ("webm", "libvpx-vp9"),
}


def make_video(
    path: Path,
    kind: str = "mp4",
    seconds: float = 2.0,
    fps: int = 25,
    width: int = 320,
    height: int = 240,
) -> Path:
    """Write `seconds` of changing colour frames: the top half red, a hue cycling below."""
    container_format, codec = FORMATS[kind]
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(round(seconds * fps)):
            image = np.zeros((height, width, 3), np.uint8)
            image[: height // 2, :, 0] = 255
            image[height // 2 :, :, 1] = (index * 10) % 256
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
