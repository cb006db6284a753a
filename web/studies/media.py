"""Check that an uploaded ad really is a video by decoding it, and read what Candor shows of it."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy.typing as npt

# Containers PyAV reports for the formats we accept; the name of the file is never trusted.
_MOV_FAMILY = "mov,mp4,m4a,3gp,3g2,mj2"
_MATROSKA_FAMILY = "matroska,webm"
# WebM is Matroska restricted to these codecs; other Matroska files (.mkv) are refused.
_WEBM_CODECS = frozenset({"vp8", "vp9", "av1", "libdav1d", "libvpx", "libvpx-vp9"})
MAX_SIDE_PX = 4096
POSTER_MAX_WIDTH = 1280
# A file whose packets stop this much before its declared duration was cut off in transfer.
_TRUNCATION_SLACK_S = 0.5


class NotAVideo(ValueError):
    """The upload is not a complete video in one of the accepted formats; the message says why."""


@dataclass(frozen=True)
class VideoInfo:
    content_type: str
    extension: str
    duration_s: float
    width: int
    height: int
    poster_jpeg: bytes


def probe_video(path: Path) -> VideoInfo:
    """Demux every packet and decode the key frames; refuse anything that is not a whole video."""
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise NotAVideo(f"not a readable video file ({_reason(exc)})") from exc
    with container:
        content_type, extension = _container_type(container)
        if not container.streams.video:
            raise NotAVideo("the file has no video track")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if not (0 < width <= MAX_SIDE_PX and 0 < height <= MAX_SIDE_PX):
            raise NotAVideo(f"video size {width}x{height} is outside 1-{MAX_SIDE_PX} px per side")
        if extension == "webm" and stream.codec_context.name not in _WEBM_CODECS:
            raise NotAVideo(
                f"Matroska with {stream.codec_context.name} is not WebM; export as mp4 or webm"
            )
        # Decoding every frame of a long ad costs seconds of CPU; key frames prove the codec
        # data is real, and demuxing every packet proves the file is complete.
        stream.codec_context.skip_frame = "NONKEY"
        time_base = stream.time_base or Fraction(1, 1000)
        start = stream.start_time or 0
        end_ts: int | None = None
        frames: list[tuple[float, av.VideoFrame]] = []
        try:
            for packet in container.demux(stream):
                if packet.pts is not None:
                    packet_end = packet.pts + (packet.duration or 0)
                    end_ts = packet_end if end_ts is None else max(end_ts, packet_end)
                for frame in packet.decode():
                    frames.append((float((frame.pts or 0) - start) * float(time_base), frame))
                    # Keep only the first frames and the latest: the poster is picked among them.
                    if len(frames) > 8:
                        del frames[4]
        except av.FFmpegError as exc:
            raise NotAVideo(f"the video data could not be decoded ({_reason(exc)})") from exc
        if not frames or end_ts is None:
            raise NotAVideo("no video frame could be decoded")
        decoded_s = float((end_ts - start) * time_base)
        declared_s = container.duration / av.time_base if container.duration else None
        if declared_s is not None and decoded_s < declared_s - _TRUNCATION_SLACK_S:
            raise NotAVideo(
                f"the file is truncated: it declares {declared_s:.1f} s but holds {decoded_s:.1f} s"
            )
        duration_s = declared_s if declared_s is not None else decoded_s
        if duration_s <= 0:
            raise NotAVideo("the video has no duration")
        poster_frame = _pick_poster(frames, duration_s)
        image = poster_frame.to_ndarray(format="bgr24")
        rotation = getattr(poster_frame, "rotation", 0) or 0
        image = _rotate(image, rotation)
        if rotation % 180:
            width, height = height, width
    return VideoInfo(
        content_type=content_type,
        extension=extension,
        duration_s=round(duration_s, 3),
        width=width,
        height=height,
        poster_jpeg=_jpeg(image),
    )


def _container_type(container: av.container.InputContainer) -> tuple[str, str]:
    name = container.format.name
    if name == _MOV_FAMILY:
        brand = str(container.metadata.get("major_brand", "")).strip()
        return ("video/quicktime", "mov") if brand == "qt" else ("video/mp4", "mp4")
    if name == _MATROSKA_FAMILY:
        return "video/webm", "webm"
    raise NotAVideo(f"format {name!r} is not accepted; upload an mp4, webm or mov video")


def _pick_poster(frames: list[tuple[float, av.VideoFrame]], duration_s: float) -> av.VideoFrame:
    """The first key frame a little way in: ads often open on black."""
    target = min(1.0, duration_s / 10)
    for time_s, frame in frames:
        if time_s >= target:
            return frame
    return frames[-1][1]


def _rotate(image: npt.NDArray[Any], rotation: int) -> npt.NDArray[Any]:
    """Apply the display rotation phones write into mov/mp4 files."""
    turns = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180}
    turns[270] = cv2.ROTATE_90_CLOCKWISE
    code = turns.get(int(rotation) % 360)
    return image if code is None else cv2.rotate(image, code)


def _jpeg(image: npt.NDArray[Any]) -> bytes:
    height, width = image.shape[:2]
    if width > POSTER_MAX_WIDTH:
        scale = POSTER_MAX_WIDTH / width
        image = cv2.resize(image, (POSTER_MAX_WIDTH, max(1, round(height * scale))))
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise NotAVideo("could not make a poster frame")
    return bytes(encoded.tobytes())


def _reason(exc: Exception) -> str:
    """FFmpeg's own words, without the file path."""
    return str(getattr(exc, "strerror", None) or exc.__class__.__name__)
