"""PLACEHOLDER until `worker.analysis` lands: decodes the clip, finds no faces, invents nothing.

It checks that the clip is a readable video (bad or truncated video raises AnalysisError, as the
real analysis will) and reports every frame as "no face analysed": face_present 0, every other
curve empty, and exclusion_reason "not_analysed", so no clip made by it is ever counted as usable.
The integrator deletes this module when the real analysis merges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import av.logging
import numpy as np
import numpy.typing as npt

ANALYSIS_VERSION = "placeholder-0 (no face analysis; decode only)"
CURVES = ("attention", "smile", "brow_raise", "brow_furrow", "jaw_drop", "blinks")
# A declared duration longer than what decodes by more than this means the file was cut short.
TRUNCATION_TOLERANCE_S = 1.0


class AnalysisError(Exception):
    """The clip cannot be analysed (not a video, no frames, truncated): fail for good."""


@dataclass
class Quality:
    face_found_share: float
    bystander_share: float
    mean_brightness: float | None
    duration_s: float
    n_frames: int
    exclusion_reason: str | None


@dataclass
class Result:
    frames: dict[str, npt.NDArray[np.float64]]
    seconds: list[dict[str, Any]]
    quality: Quality
    provenance: dict[str, str] = field(default_factory=dict)


def _decode_times(path: Path) -> tuple[npt.NDArray[np.float64], float | None]:
    """Presentation times of every decodable frame, and the container's declared duration."""
    try:
        with av.logging.Capture() as logs, av.open(str(path)) as container:
            if not container.streams.video:
                raise AnalysisError("not a video: the file has no video stream")
            stream = container.streams.video[0]
            times = []
            for index, frame in enumerate(container.decode(stream)):
                times.append(frame.time if frame.time is not None else index / 30.0)
            declared = container.duration / 1_000_000 if container.duration else None
    except av.error.FFmpegError as exc:
        raise AnalysisError(f"not a readable video: {exc.strerror or exc}") from exc
    except OSError as exc:
        raise AnalysisError(f"not a readable video: {exc.strerror or exc}") from exc
    if any("ended prematurely" in message for _level, _name, message in logs):
        raise AnalysisError("truncated video: the file ends in the middle of a frame")
    if not times:
        raise AnalysisError("not a video: no frame could be decoded")
    return np.asarray(times, dtype=np.float64), declared


def per_second(
    frames: dict[str, npt.NDArray[np.float64]],
    time_map: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]],
) -> list[dict[str, Any]]:
    """Bin frames into ad seconds; with no face analysis, only counts and face_present=0."""
    ad_t = time_map(frames["t"])
    kept = np.isfinite(ad_t)
    seconds = np.floor(ad_t[kept]).astype(int)
    rows = []
    for second in np.unique(seconds):
        row: dict[str, Any] = {name: None for name in CURVES}
        row.update(
            second=int(second),
            n_frames=int(np.count_nonzero(seconds == second)),
            face_present=0.0,
            bystander=0.0,
        )
        rows.append(row)
    return rows


def analyze(path: Path | str, fps: float | None = None) -> Result:
    """Decode the clip and report it honestly as not analysed."""
    del fps  # the placeholder decodes every frame; there is nothing to subsample for
    times, declared = _decode_times(Path(path))
    duration = float(times[-1] - times[0]) if len(times) > 1 else 0.0
    if declared is not None and declared - duration > TRUNCATION_TOLERANCE_S + 0.5:
        raise AnalysisError(
            f"truncated video: {duration:.1f} s decoded of {declared:.1f} s declared"
        )
    frames = {
        "t": times,
        "face_present": np.zeros(len(times)),
        "bystander": np.zeros(len(times)),
    }
    quality = Quality(
        face_found_share=0.0,
        bystander_share=0.0,
        mean_brightness=None,
        duration_s=duration,
        n_frames=len(times),
        exclusion_reason="not_analysed",
    )
    seconds = per_second(frames, lambda t: t)
    return Result(frames, seconds, quality, {"analysis": ANALYSIS_VERSION})
