"""Check that an uploaded ad really is a video by decoding it, and read what Candor shows of it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy.typing as npt

from web.errors import Invalid

# Containers PyAV reports for the formats we accept; the name of the file is never trusted.
_MOV_FAMILY = "mov,mp4,m4a,3gp,3g2,mj2"
_MATROSKA_FAMILY = "matroska,webm"
# WebM is Matroska restricted to these codecs; other Matroska files (.mkv) are refused.
_WEBM_CODECS = frozenset({"vp8", "vp9", "av1", "libdav1d", "libvpx", "libvpx-vp9"})
MAX_SIDE_PX = 4096
POSTER_MAX_WIDTH = 1280
# A file whose packets stop this much before its declared duration was cut off in transfer.
_TRUNCATION_SLACK_S = 0.5
# What a designer can do about a file that isn't a usable video.
_EXPORT = "Export the ad again as an mp4, webm or mov video and upload that."
log = logging.getLogger(__name__)


class NotAVideo(Invalid):
    """The upload is not a complete video in one of the accepted formats; the message says why,
    as whole sentences for a designer (FFmpeg's own words go to the log, not to them)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="not_a_video")


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
        log.info("ad upload refused: cannot open (%s)", _reason(exc))
        raise NotAVideo(f"This file is not a video Candor can read. {_EXPORT}") from exc
    with container:
        content_type, extension = _container_type(container)
        if not container.streams.video:
            raise NotAVideo(f"This file has no video track (it may be sound only). {_EXPORT}")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if not (0 < width <= MAX_SIDE_PX and 0 < height <= MAX_SIDE_PX):
            raise NotAVideo(
                f"This video is {width}\u00d7{height} pixels; Candor takes up to {MAX_SIDE_PX} "
                "pixels a side. Export it at a smaller size."
            )
        if extension == "webm" and stream.codec_context.name not in _WEBM_CODECS:
            raise NotAVideo(
                f"This is a Matroska (.mkv) file with {stream.codec_context.name} video, not a "
                "WebM one. Export it as mp4 or webm."
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
            log.info("ad upload refused: cannot decode (%s)", _reason(exc))
            raise NotAVideo(
                f"The video in this file could not be decoded: it may be damaged. {_EXPORT}"
            ) from exc
        if not frames or end_ts is None:
            raise NotAVideo(f"No picture could be decoded from this file. {_EXPORT}")
        decoded_s = float((end_ts - start) * time_base)
        declared_s = container.duration / av.time_base if container.duration else None
        if declared_s is not None and decoded_s < declared_s - _TRUNCATION_SLACK_S:
            raise NotAVideo(
                f"This file is cut short (truncated): it should last {declared_s:.1f} s but "
                f"holds {decoded_s:.1f} s. Upload the whole file again."
            )
        duration_s = declared_s if declared_s is not None else decoded_s
        if duration_s <= 0:
            raise NotAVideo(f"This video has no length. {_EXPORT}")
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
    log.info("ad upload refused: container %r", name)
    raise NotAVideo("This file is not an mp4, webm or mov video. Upload a video in one of those.")


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
        raise NotAVideo(f"Candor could not make a still picture of this video. {_EXPORT}")
    return bytes(encoded.tobytes())


def _reason(exc: Exception) -> str:
    """FFmpeg's own words, without the file path."""
    return str(getattr(exc, "strerror", None) or exc.__class__.__name__)
