"""Frames of the ad along its timeline: small pictures of the ad itself (never of a panelist),
so a reader sees what was on screen at a peak.

Decoded with PyAV, as the upload check (web/studies/media.py) does, from the ad's stored file:
one picture per step of ad time (a second, or more for a long ad, at most MAX_FRAMES), each the
frame on screen at the middle of its step, the moment the charts draw that second at. Extracted
once when the ad is uploaded, or on first use for an ad uploaded before (then kept): files
under ads_dir/frames/<the ad's storage key>/, with an index naming the ad file's sha256, so a
changed file is never shown with another's pictures. Deleted with the ad.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path, PurePosixPath

import av
import cv2

from web.settings import Settings
from web.studies.media import _rotate
from web.studies.models import Ad

MAX_FRAMES = 60
WIDTH_PX = 192
JPEG_QUALITY = 80
INDEX = "index.json"
log = logging.getLogger(__name__)


class NoFrames(RuntimeError):
    """The ad's file could not be read for pictures (missing or undecodable)."""


@dataclass(frozen=True)
class Thumbnail:
    """Picture `index` shows the ad at `time_s`, the middle of [start_s, end_s) of ad time."""

    index: int
    time_s: float
    start_s: float
    end_s: float


def step_s(duration_s: float) -> int:
    """Seconds of ad time per picture: 1, or more so that a long ad has at most MAX_FRAMES."""
    return max(1, math.ceil(duration_s / MAX_FRAMES))


def plan(duration_s: float) -> list[Thumbnail]:
    """Where the pictures are taken: one per step, at its middle (the last step may be short)."""
    if duration_s <= 0:
        return []
    step = step_s(duration_s)
    out = []
    for index in range(math.ceil(duration_s / step)):
        start = float(index * step)
        end = min(start + step, duration_s)
        out.append(Thumbnail(index, round((start + end) / 2, 3), start, round(end, 3)))
    return out


def _jpeg(frame: av.VideoFrame) -> bytes:
    image = _rotate(frame.to_ndarray(format="bgr24"), getattr(frame, "rotation", 0) or 0)
    height, width = image.shape[:2]
    size = (WIDTH_PX, max(1, round(height * WIDTH_PX / width)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise NoFrames("could not encode a picture")
    return bytes(encoded.tobytes())


def decode(video: Path, wanted: list[Thumbnail]) -> list[bytes]:
    """The frame on screen at each wanted time (the last one shown at or before it), as JPEG.

    Decodes the video once, front to back, converting only the frames picked.
    """
    pictures: list[bytes] = []
    try:
        with av.open(str(video), mode="r") as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            time_base = stream.time_base or Fraction(1, 1000)
            start = stream.start_time or 0
            previous: av.VideoFrame | None = None
            targets = iter(wanted)
            target = next(targets, None)
            for frame in container.decode(stream):
                at = float((frame.pts or 0) - start) * float(time_base)
                while target is not None and at > target.time_s:
                    pictures.append(_jpeg(previous or frame))
                    target = next(targets, None)
                if target is None:
                    break
                previous = frame
            while target is not None and previous is not None:
                pictures.append(_jpeg(previous))  # past the last frame: the last one stays
                target = next(targets, None)
    except (av.FFmpegError, IndexError, OSError) as exc:
        raise NoFrames(f"cannot decode the ad's pictures: {exc.__class__.__name__}") from exc
    if len(pictures) != len(wanted):
        raise NoFrames("the ad's file holds no picture")
    return pictures


def frames_dir(settings: Settings, ad: Ad) -> Path:
    key = PurePosixPath(ad.storage_key)
    root = (settings.ads_dir / "frames").resolve()
    path = (root / key.parent / key.stem).resolve()
    if not path.is_relative_to(root):
        raise NoFrames("bad storage key")
    return path


def cached(settings: Settings, ad: Ad) -> list[Thumbnail] | None:
    """The pictures already extracted for this very file, if any."""
    index = frames_dir(settings, ad) / INDEX
    try:
        data = json.loads(index.read_text())
    except (OSError, ValueError):
        return None
    if data.get("sha256") != ad.sha256:
        return None
    return [Thumbnail(**t) for t in data["frames"]]


def extract(settings: Settings, ad: Ad) -> list[Thumbnail]:
    """Extract the ad's pictures (again), written beside one another and put in place at once,
    so a reader never sees half a set and two extractions at once do no harm."""
    video = (settings.ads_dir / ad.storage_key).resolve()
    if not video.is_file():
        raise NoFrames("the ad's file is missing")
    wanted = plan(ad.duration_s)
    pictures = decode(video, wanted)
    target = frames_dir(settings, ad)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".frames-", dir=target.parent))
    try:
        for thumbnail, jpeg in zip(wanted, pictures, strict=True):
            (work / f"{thumbnail.index:04d}.jpg").write_bytes(jpeg)
        _write_index(work, ad, wanted)
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        os.replace(work, target)
    except OSError:
        if not target.exists():
            raise
        # Another extraction put its (identical) set in place first.
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return wanted


def thumbnails(settings: Settings, ad: Ad) -> list[Thumbnail]:
    """The ad's pictures, extracted now if they never were; none if its file can't be read
    (the page then goes without them, and says so)."""
    found = cached(settings, ad)
    if found is not None:
        return found
    try:
        return extract(settings, ad)
    except NoFrames as exc:
        log.warning("no pictures for ad %s: %s", ad.id, exc)
        if (settings.ads_dir / ad.storage_key).is_file():
            # A file that cannot be decoded stays so: said once, not tried at every page view.
            _write_index(frames_dir(settings, ad), ad, [])
        return []


def _write_index(directory: Path, ad: Ad, found: list[Thumbnail]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    index = {"sha256": ad.sha256, "frames": [asdict(t) for t in found]}
    (directory / INDEX).write_text(json.dumps(index))


def picture(settings: Settings, ad: Ad, index: int) -> Path | None:
    """The file of picture `index`, if extracted."""
    found = cached(settings, ad)
    if found is None or not 0 <= index < len(found):
        return None
    path = frames_dir(settings, ad) / f"{index:04d}.jpg"
    return path if path.is_file() else None


def spread(found: list[Thumbnail], count: int) -> list[Thumbnail]:
    """`count` pictures evenly along the ad (all of them if there are no more)."""
    if count < 1:
        raise ValueError(f"count must be >= 1, not {count}")
    if len(found) <= count:
        return list(found)
    if count == 1:
        return [found[len(found) // 2]]
    return [found[round(i * (len(found) - 1) / (count - 1))] for i in range(count)]
