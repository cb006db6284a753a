"""The one place the clip job calls `worker.analysis`; everything it needs from a result is read
here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from candor.metrics import CURVE_METRICS, EMOTION_METRICS
from worker.analysis import ANALYSIS_VERSION, AnalysisError, AnalysisResult, analyze, per_second
from worker.analysis.constants import second_columns
from worker.analysis.result import records
from worker.timemap import TimeMap


def analysis_version(result: AnalysisResult) -> str:
    """Code and model versions that made the curves, as stored on the clip (short)."""
    models = result.provenance["models"]
    files = ", ".join(
        dict.fromkeys(
            f"{model['file']['package']} {model['file']['version']}" for model in models.values()
        )
    )
    return f"candor-analysis {ANALYSIS_VERSION}; {files}"


def model_files(result: AnalysisResult) -> dict[str, Any]:
    """Each model file that made the curves: package, version, file, sha256, licence."""
    return {name: model["file"] for name, model in result.provenance["models"].items()}


def is_analysis_error(exc: BaseException) -> bool:
    """True for the analysis's own "this clip cannot be analysed" error."""
    return isinstance(exc, AnalysisError)


@dataclass
class ClipAnalysis:
    """What the pipeline stores: curves on ad time and data-quality fields.

    Each row of `seconds` holds `second`, `n_frames` and every name in CURVE_METRICS (None where
    unreadable), plus every name in EMOTION_METRICS if and only if emotions were asked for.
    `provenance` records the model files (sha256), versions and settings that made the curves.
    """

    seconds: list[dict[str, Any]]
    face_found_share: float | None
    exclusion_reason: str | None
    duration_s: float | None
    n_frames: int | None
    last_frame_s: float
    version: str
    # model name -> its file's package, version, sha256 and licence
    provenance: dict[str, Any] = field(default_factory=dict)


def run(path: Path, time_map: TimeMap, *, emotions: bool = False) -> ClipAnalysis:
    """Analyse one clip and re-bin its frames onto ad seconds (seconds without frames dropped).

    Rows hold ``second``, ``n_frames`` and every CURVE_METRICS name (None where unreadable),
    plus every EMOTION_METRICS name only when ``emotions`` is asked for.
    """
    result = analyze(path, emotions=emotions)
    names = (*CURVE_METRICS, *(EMOTION_METRICS if emotions else ()))
    seconds = []
    for row in records(per_second(result.frames, time_map), second_columns(emotions)):
        n_frames = int(row["n_frames"] or 0)
        if n_frames == 0:
            continue
        clean: dict[str, Any] = {name: row[name] for name in names}
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
        provenance=result.provenance,
    )
