"""The one place the clip job calls `worker.analysis`; everything it needs from a result is read
here, and re-binned onto ad seconds under the rules of `candor.quality`: a second is an
observation only with enough of its expected frames, a second the ad played in a hidden tab is
marked as such, and a clip observing too little of its ad is excluded as "incomplete"."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from candor.metrics import CURVE_METRICS, EMOTION_METRICS
from candor.quality import MIN_AD_COVERAGE, MIN_FRAME_SHARE, ExclusionReason, SecondFlag
from worker.analysis import ANALYSIS_VERSION, AnalysisError, AnalysisResult, analyze, per_second
from worker.analysis.constants import second_columns
from worker.analysis.ondevice import analyze_records, is_records
from worker.analysis.result import records
from worker.timemap import Event, build_time_map


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
    unreadable), plus every name in EMOTION_METRICS if and only if the session is in emotion mode.
    `provenance` records the model files (sha256), versions and settings that made the curves.
    """

    seconds: list[dict[str, Any]]
    face_found_share: float | None
    exclusion_reason: str | None
    duration_s: float | None
    n_frames: int | None
    last_frame_s: float
    version: str
    # model name -> its file's package, version, sha256 and licence; settings; code version.
    # The same for every clip analysed alike: stored once, shared.
    provenance: dict[str, Any] = field(default_factory=dict)
    # The rest level each expression was read against: this panelist's own, stored as plain
    # numbers per clip (clip_rest_level), pooled over their session, erased with the clip.
    rest_levels: dict[str, float] = field(default_factory=dict)
    observed_s: int = 0  # ad seconds observed (with enough frames)
    ad_seconds: int = 0  # ad seconds there were to observe


def frame_rate(frame_times: npt.NDArray[np.float64]) -> float:
    """Frames per second of the analysed stream (median spacing: robust to a dropped frame)."""
    if frame_times.size < 2:
        return 0.0
    gaps = np.diff(np.sort(frame_times))
    gaps = gaps[gaps > 0]
    return float(1.0 / np.median(gaps)) if gaps.size else 0.0


def expected_frames(second: int, rate: float, ad_duration_s: float) -> float:
    """Frames one ad second should hold at this rate; the ad's last second may be partial."""
    if not math.isfinite(ad_duration_s):
        return rate
    return rate * max(0.0, min(1.0, ad_duration_s - second))


def _mark(second: int, n_frames: int, flag: SecondFlag, names: Sequence[str]) -> dict[str, Any]:
    """A second kept as a mark only: no values, so nothing of it is aggregated."""
    row: dict[str, Any] = dict.fromkeys(names)
    row.update(second=second, n_frames=n_frames, flag=flag)
    return row


def rebin(
    frames: Any, events: Sequence[Event], ad_duration_s: float, *, emotion_mode: bool = False
) -> tuple[list[dict[str, Any]], int]:
    """Per-second rows on ad time, and how many of them are observations.

    A second with fewer than MIN_FRAME_SHARE of its expected frames is kept as a "sparse" mark
    without values; a second whose frames all came while the tab was hidden is a "hidden" mark.
    Rows hold every CURVE_METRICS name, plus every EMOTION_METRICS name iff `emotion_mode`.
    """
    names = (*CURVE_METRICS, *(EMOTION_METRICS if emotion_mode else ()))
    times = np.asarray(frames["t"], dtype=np.float64)
    rate = frame_rate(times)
    hidden_map = build_time_map(events, ad_duration_s, hidden=True)
    hidden_at = hidden_map(times)
    hidden = {int(s) for s in np.floor(hidden_at[np.isfinite(hidden_at) & (hidden_at >= 0)])}
    rows: dict[int, dict[str, Any]] = {}
    observed = 0
    table = per_second(frames, build_time_map(events, ad_duration_s))
    for row in records(table, second_columns(emotion_mode)):
        n_frames = int(row["n_frames"] or 0)
        second = int(row["second"] or 0)
        if n_frames == 0:
            continue
        if n_frames >= MIN_FRAME_SHARE * expected_frames(second, rate, ad_duration_s):
            clean: dict[str, Any] = {name: row[name] for name in names}
            clean.update(second=second, n_frames=n_frames, flag=None)
            observed += 1
        else:
            clean = _mark(
                second,
                n_frames,
                SecondFlag.HIDDEN if second in hidden else SecondFlag.SPARSE,
                names,
            )
        rows[second] = clean
    for second in sorted(hidden - rows.keys()):
        rows[second] = _mark(second, 0, SecondFlag.HIDDEN, names)
    return [rows[second] for second in sorted(rows)], observed


def exclusion(analysis_reason: str | None, observed: int, ad_seconds: int) -> str | None:
    """The analysis's own reason first; else "incomplete" if too little of the ad was seen."""
    if analysis_reason is not None:
        return analysis_reason
    if ad_seconds and observed < MIN_AD_COVERAGE * ad_seconds:
        return ExclusionReason.INCOMPLETE
    return None


# The per-person parts of an analysis's provenance: never stored in the shared provenance (the
# rest levels are kept as ClipAnalysis.rest_levels; the other neutral baselines not at all).
PERSONAL_PROVENANCE = ("baselines", "rest_levels", "rest_levels_given")


def run(
    path: Path,
    events: Sequence[Event],
    ad_duration_s: float,
    *,
    emotion_mode: bool = False,
    rest_levels: Mapping[str, float] | None = None,
    mime_type: str = "",
    until_s: float | None = None,
) -> ClipAnalysis:
    """Analyse one clip, re-bin its frames onto ad seconds, and judge its coverage of the ad.

    Emotions are computed only when asked for (a study in emotion mode when the panelist agreed).
    ``rest_levels`` are the panelist's pooled (lowest) rest levels from their earlier clips of
    the session, so a clip expressive throughout keeps its expressions. ``until_s``: decode no
    further (the clip's bound, web/clips/bounds.py).
    A clip of on-device face records (``mime_type``, worker.analysis.ondevice) goes through the
    same signal path from its records instead of a video.
    """
    if is_records(mime_type):
        result = analyze_records(
            path, mime_type, emotions=emotion_mode, rest_levels=dict(rest_levels or {})
        )
    else:
        result = analyze(path, emotions=emotion_mode, rest_levels=rest_levels, until_s=until_s)
    seconds, observed = rebin(result.frames, events, ad_duration_s, emotion_mode=emotion_mode)
    frame_times = np.asarray(result.frames["t"], dtype=np.float64)
    quality = result.quality
    ad_seconds = math.ceil(ad_duration_s) if math.isfinite(ad_duration_s) else 0
    return ClipAnalysis(
        seconds=seconds,
        face_found_share=quality.face_found_share,
        exclusion_reason=exclusion(quality.exclusion_reason, observed, ad_seconds),
        duration_s=quality.duration_s,
        n_frames=quality.n_frames,
        last_frame_s=float(frame_times.max()) if frame_times.size else 0.0,
        version=analysis_version(result),
        provenance={k: v for k, v in result.provenance.items() if k not in PERSONAL_PROVENANCE},
        rest_levels={
            name: float(level)
            for name, level in result.provenance.get("rest_levels", {}).items()
            if level is not None and math.isfinite(level)
        },
        observed_s=observed,
        ad_seconds=ad_seconds,
    )
