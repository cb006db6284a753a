"""The one place the pipeline calls the analysis: `worker.analysis` once it has `analyze`, else the
clearly named placeholder. Everything the pipeline needs from a result is read here."""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from worker.timemap import TimeMap

# Per-second keys stored as ClipSecond columns (besides `second` and `n_frames`).
SECOND_METRICS = (
    "attention",
    "smile",
    "brow_raise",
    "brow_furrow",
    "jaw_drop",
    "blinks",
    "face_present",
    "bystander",
)


@cache
def backend() -> ModuleType:
    """The real analysis if it is there, else the placeholder."""
    real = importlib.import_module("worker.analysis")
    if hasattr(real, "analyze") and hasattr(real, "per_second"):
        return real
    return importlib.import_module("worker.placeholder_analysis")


def using_placeholder() -> bool:
    return backend().__name__ == "worker.placeholder_analysis"


def analysis_version() -> str:
    return str(backend().ANALYSIS_VERSION)


def is_analysis_error(exc: BaseException) -> bool:
    """True for the analysis's own "this clip cannot be analysed" error."""
    return isinstance(exc, backend().AnalysisError)


@dataclass
class ClipAnalysis:
    """What the pipeline stores: curves on ad time and data-quality fields."""

    seconds: list[dict[str, Any]]
    face_found_share: float | None
    exclusion_reason: str | None
    duration_s: float | None
    n_frames: int | None
    last_frame_s: float
    version: str


def _field(quality: Any, name: str) -> Any:
    """Quality may be a dataclass or a mapping, depending on the backend."""
    if isinstance(quality, dict):
        return quality.get(name)
    return getattr(quality, name, None)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _rows(table: Any) -> list[dict[str, Any]]:
    """Per-second rows from a list of dicts or a columnar table (dict of equal-length arrays)."""
    if isinstance(table, dict):
        n = len(table["second"])
        return [{key: column[i] for key, column in table.items()} for i in range(n)]
    return list(table)


def run(path: Path, time_map: TimeMap) -> ClipAnalysis:
    """Analyse one clip and re-bin its frames onto ad seconds (seconds without frames dropped)."""
    module = backend()
    result = module.analyze(path)
    seconds = []
    for row in _rows(module.per_second(result.frames, time_map)):
        n_frames = int(row.get("n_frames") or 0)
        if n_frames == 0:
            continue
        clean: dict[str, Any] = {name: _number(row.get(name)) for name in SECOND_METRICS}
        clean["second"] = int(row["second"])
        clean["n_frames"] = n_frames
        seconds.append(clean)
    frame_times = np.asarray(result.frames["t"], dtype=np.float64)
    quality = result.quality
    n_frames = _field(quality, "n_frames")
    return ClipAnalysis(
        seconds=seconds,
        face_found_share=_number(_field(quality, "face_found_share")),
        exclusion_reason=_field(quality, "exclusion_reason"),
        duration_s=_number(_field(quality, "duration_s")),
        n_frames=int(n_frames) if n_frames is not None else None,
        last_frame_s=float(frame_times.max()) if frame_times.size else 0.0,
        version=str(module.ANALYSIS_VERSION),
    )
