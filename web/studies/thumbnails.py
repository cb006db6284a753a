"""Frames of the ad along its timeline: small pictures of the ad itself (never of a panelist),
so a reader sees what was on screen at a peak.

Decoded with PyAV, as the upload check (web/studies/media.py) does, from the ad's stored file:
one picture per step of ad time (a second, or more for a long ad, at most MAX_FRAMES), each the
frame on screen at the middle of its step, the moment the charts draw that second at. Extracted
once when the ad is uploaded, or on first use for an ad uploaded before (then kept): kept in
the ad store (web/ad_store.py) under frames/<the ad's storage key>/, with an index naming the
ad file's sha256, so a changed file is never shown with another's pictures; the index is
written last, so a reader who finds it finds every picture. Deleted with the ad.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path, PurePosixPath

import av
import cv2

from web.ad_store import ad_store, local_copy
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


def frames_prefix(ad: Ad) -> str:
    """The ad's pictures' key prefix in the ad store: frames/<storage key without suffix>."""
    key = PurePosixPath(ad.storage_key)
    return "/".join(("frames", *key.parent.parts, key.stem))


def frames_dir(settings: Settings, ad: Ad) -> Path:
    """Where the local ad store keeps the ad's pictures."""
    return settings.ads_dir / frames_prefix(ad)


def cached(settings: Settings, ad: Ad) -> list[Thumbnail] | None:
    """The pictures already extracted for this very file, if any."""
    try:
        stored = ad_store(settings).get_bytes(f"{frames_prefix(ad)}/{INDEX}")
        data = json.loads(stored) if stored is not None else None
    except (OSError, ValueError):
        return None
    if data is None or data.get("sha256") != ad.sha256:
        return None
    return [Thumbnail(**t) for t in data["frames"]]


def extract(settings: Settings, ad: Ad) -> list[Thumbnail]:
    """Extract the ad's pictures (again): every picture first, then the index, so a reader
    never sees half a set, and two extractions at once do no harm (they write the same)."""
    wanted = plan(ad.duration_s)
    with local_copy(settings, ad.storage_key) as video:
        if video is None:
            raise NoFrames("the ad's file is missing")
        pictures = decode(video, wanted)
    store = ad_store(settings)
    prefix = frames_prefix(ad)
    for thumbnail, jpeg in zip(wanted, pictures, strict=True):
        store.put_bytes(f"{prefix}/{thumbnail.index:04d}.jpg", jpeg)
    _write_index(settings, ad, wanted)
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
        if ad_store(settings).size(ad.storage_key) is not None:
            # A file that cannot be decoded stays so: said once, not tried at every page view.
            _write_index(settings, ad, [])
        return []


def _write_index(settings: Settings, ad: Ad, found: list[Thumbnail]) -> None:
    index = {"sha256": ad.sha256, "frames": [asdict(t) for t in found]}
    ad_store(settings).put_bytes(f"{frames_prefix(ad)}/{INDEX}", json.dumps(index).encode())


def picture_key(settings: Settings, ad: Ad, index: int) -> str | None:
    """The ad store's key of picture `index`, if extracted."""
    found = cached(settings, ad)
    if found is None or not 0 <= index < len(found):
        return None
    return f"{frames_prefix(ad)}/{index:04d}.jpg"


def picture(settings: Settings, ad: Ad, index: int) -> bytes | None:
    """The JPEG of picture `index`, if extracted."""
    key = picture_key(settings, ad, index)
    return ad_store(settings).get_bytes(key) if key is not None else None


def spread(found: list[Thumbnail], count: int) -> list[Thumbnail]:
    """`count` pictures evenly along the ad (all of them if there are no more)."""
    if count < 1:
        raise ValueError(f"count must be >= 1, not {count}")
    if len(found) <= count:
        return list(found)
    if count == 1:
        return [found[len(found) // 2]]
    return [found[round(i * (len(found) - 1) / (count - 1))] for i in range(count)]
