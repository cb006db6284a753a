"""The one place the clip job calls `worker.analysis`; everything it needs from a result is read
here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from web.results.models import CURVE_METRICS
from worker.analysis import ANALYSIS_VERSION, AnalysisError, AnalysisResult, analyze, per_second
from worker.analysis.constants import SECOND_COLUMNS
from worker.analysis.result import records
from worker.timemap import TimeMap


def analysis_version(result: AnalysisResult) -> str:
    """Code and model versions that made the curves, as stored on the clip."""
    mesh = result.provenance["models"]["mesh"]
    return f"candor-analysis {ANALYSIS_VERSION}; {mesh['name']} {mesh['version']}"


def is_analysis_error(exc: BaseException) -> bool:
    """True for the analysis's own "this clip cannot be analysed" error."""
    return isinstance(exc, AnalysisError)


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


def run(path: Path, time_map: TimeMap) -> ClipAnalysis:
    """Analyse one clip and re-bin its frames onto ad seconds (seconds without frames dropped)."""
    result = analyze(path)
    seconds = []
    for row in records(per_second(result.frames, time_map), SECOND_COLUMNS):
        n_frames = int(row["n_frames"] or 0)
        if n_frames == 0:
            continue
        clean: dict[str, Any] = {name: row[name] for name in CURVE_METRICS}
        clean["second"] = int(row["second"] or 0)
        clean["n_frames"] = n_frames
        seconds.append(clean)
    frame_times = np.asarray(result.frames["t"], dtype=np.float64)
    quality = result.quality
    return ClipAnalysis(
        seconds=seconds,
        face_found_share=quality.face_found_share,
        exclusion_reason=quality.exclusion_reason,
        duration_s=quality.duration_s,
        n_frames=quality.n_frames,
        last_frame_s=float(frame_times.max()) if frame_times.size else 0.0,
        version=analysis_version(result),
    )
