"""Pure analysis: one webcam clip in, per-frame signals and per-second curves out.

    from worker.analysis import analyze, per_second, AnalysisError, ANALYSIS_VERSION
    result = analyze("clip.webm", fps=None, on_progress=print)
    result.frames, result.seconds, result.quality, result.provenance

Never imports web, Celery or the database; mediapipe loads on the first ``analyze`` call.
"""

from worker.analysis.analyze_video import analyze
from worker.analysis.constants import (
    ANALYSIS_VERSION,
    EXCLUSION_REASONS,
    EXPRESSIONS,
    FRAME_COLUMNS,
    SECOND_COLUMNS,
    Settings,
)
from worker.analysis.curves import per_second
from worker.analysis.errors import (
    AnalysisError,
    ClipNotFound,
    NoFrames,
    NotAVideo,
    NoVideoStream,
    TruncatedVideo,
)
from worker.analysis.result import AnalysisResult, Quality

__all__ = [
    "ANALYSIS_VERSION",
    "EXCLUSION_REASONS",
    "EXPRESSIONS",
    "FRAME_COLUMNS",
    "SECOND_COLUMNS",
    "AnalysisError",
    "AnalysisResult",
    "ClipNotFound",
    "NoFrames",
    "NoVideoStream",
    "NotAVideo",
    "Quality",
    "Settings",
    "TruncatedVideo",
    "analyze",
    "per_second",
]
