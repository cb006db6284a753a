"""Small generated webcam-like clips for upload and pipeline tests (no faces: see face_clips)."""

from __future__ import annotations

import io

import av
import numpy as np


def make_webm(seconds: float = 3.0, fps: int = 15, width: int = 160, height: int = 120) -> bytes:
    """A VP8 WebM of a moving gradient, like a MediaRecorder recording (without faces)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"deadline": "realtime", "cpu-used": "8"}
        x = np.linspace(0, 255, width, dtype=np.float32)
        for index in range(int(seconds * fps)):
            shade = (x[None, :] + index * 8) % 255
            rgb = np.repeat(shade[:, :, None], 3, axis=2).astype(np.uint8)
            rgb = np.broadcast_to(rgb, (height, width, 3)).copy()
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def split(data: bytes, parts: int) -> list[bytes]:
    """Cut a recording into `parts` byte ranges; concatenated they are the recording again."""
    size = -(-len(data) // parts)
    return [data[i : i + size] for i in range(0, len(data), size)]
