"""``analyze``: stream a clip through decode → face mesh → blendshapes (and the appearance model
where a smile must be judged) → signals, then curves and quality (and, in emotion mode only,
emotions)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from candor.metrics import EXPRESSION_NAMES, NOT_MEASURED
from candor.quality import ExclusionReason
from worker.analysis.appearance import MIN_SMILE_TO_JUDGE, SmileSupports, nose_root_texture
from worker.analysis.arrays import Array, Table
from worker.analysis.constants import ANALYSIS_VERSION, Settings, frame_columns
from worker.analysis.curves import per_second
from worker.analysis.decode import Frame, VideoReader
from worker.analysis.emotions import emotions as emotion_table
from worker.analysis.expressions import (
    GAZE_COLUMNS,
    GAZE_INDEX,
    KEPT_BLENDSHAPES,
    KEPT_INDEX,
    SOURCES,
    one_sided_smile,
)
from worker.analysis.geometry import frontal_landmarks
from worker.analysis.hands import HandCover
from worker.analysis.mesh import FaceModels, model_provenance
from worker.analysis.occlusion import eyes_hidden_delta, mouth_skin_share
from worker.analysis.result import AnalysisResult, Quality
from worker.analysis.signals import (
    RAW_MEASURES,
    SERVER_MEASURES,
    USED_LANDMARKS,
    finalise,
    measure,
)
from worker.analysis.trained import FER_CLASSES, AppearanceClassifier, Blendshapes

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float], None]

# Landmarks are turned into measures in batches: vectorised maths, bounded memory.
_BATCH = 128
# Rec. 601 luma weights, for the brightness of a frame.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _brightness(rgb: Array) -> float:
    # An 80x60 nearest-neighbour thumbnail is plenty for a mean: 0.01 ms instead of 0.1.
    thumbnail = cv2.resize(rgb, (80, 60), interpolation=cv2.INTER_NEAREST)
    return float(np.dot(cv2.mean(thumbnail)[:3], _LUMA))


@dataclass
class _FaceCounts:
    """Counts faces every ``interval`` seconds; a change is pinned to its frame by bisection.

    Holds the frames since the last check (a fraction of a second), never the whole clip.
    """

    models: FaceModels
    interval: float
    counts: list[int] = field(default_factory=list)
    _held: list[tuple[int, Frame]] = field(default_factory=list)
    _last_index: int = -1
    _last_count: int = 0
    _next_check: float = 0.0

    def add(self, index: int, frame: Frame) -> None:
        """Take the next frame; checks it if it is due."""
        self.counts.append(-1)
        if frame.t >= self._next_check:
            self._check(index, frame)
        else:
            self._held.append((index, frame))

    def finish(self) -> None:
        """Resolve the frames after the last check."""
        if self._held:
            index, frame = self._held.pop()
            self._check(index, frame)

    def _check(self, index: int, frame: Frame) -> None:
        count = self.models.count_faces(frame.rgb)
        held = self._held
        if self._last_index >= 0 and count != self._last_count and held:
            # One change between two checks: bisect the held frames for its first frame.
            lo, hi = -1, len(held)  # held[lo] has the old count, held[hi] the new one
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if self.models.count_faces(held[mid][1].rgb) == count:
                    hi = mid
                else:
                    lo = mid
            for position, (held_index, _) in enumerate(held):
                self.counts[held_index] = self._last_count if position < hi else count
        else:
            for held_index, _ in held:
                self.counts[held_index] = self._last_count if self._last_index >= 0 else count
        self.counts[index] = count
        self._held = []
        self._last_index, self._last_count = index, count
        self._next_check = frame.t + self.interval


class _Collector:
    """Accumulates per-frame raw measures, batching the landmark maths.

    Keeps a few dozen numbers per frame (the blendshapes the expressions read, the appearance
    model's smile support; its classes in emotion mode only), never landmarks or pixels beyond
    the current batch.
    """

    def __init__(
        self,
        blendshapes: Blendshapes,
        appearance: AppearanceClassifier,
        *,
        emotions: bool = False,
        min_turn_deg: float = 0.0,
    ) -> None:
        self._min_turn_deg = min_turn_deg
        self.t: list[float] = []
        self.brightness: list[float] = []
        self.found: list[bool] = []
        self.scores: list[Array] = []
        self.mouth_skin: list[float] = []
        self.eyes_delta: list[float] = []
        self.support = SmileSupports(appearance)
        self.nose_texture: list[float] = []
        self.classes: list[Array] = []
        self._blendshapes = blendshapes
        self._emotions = emotions
        self._smile_columns = [KEPT_BLENDSHAPES.index(n) for n in SOURCES["smile"]]
        self._missing = np.full(len(KEPT_INDEX), np.nan, dtype=np.float32)
        self._no_classes = np.full(len(FER_CLASSES), np.nan, dtype=np.float32)
        self._batch: list[Array] = []
        self._batch_rows: list[int] = []
        self._parts: list[tuple[Array, Table]] = []

    def add(self, frame: Frame, landmarks: Array | None) -> None:
        self.t.append(frame.t)
        self.brightness.append(_brightness(frame.rgb))
        self.found.append(landmarks is not None)
        classes = self._no_classes
        if landmarks is None:
            self.scores.append(self._missing)
            self.mouth_skin.append(np.nan)
            self.eyes_delta.append(np.nan)
            self.support.skip(np.nan)
            self.nose_texture.append(np.nan)
        else:
            seen = self._blendshapes(landmarks)
            front = frontal_landmarks(landmarks, self._min_turn_deg)
            kept = (seen if front is None else self._blendshapes(front))[KEPT_INDEX]
            kept[GAZE_COLUMNS] = seen[GAZE_INDEX]
            self.scores.append(kept)
            self.mouth_skin.append(mouth_skin_share(frame.rgb, landmarks))
            self.eyes_delta.append(eyes_hidden_delta(frame.rgb, landmarks))
            self.nose_texture.append(nose_root_texture(frame.rgb, landmarks))
            if self._emotions:
                classes = self.support.judge(frame.t, frame.rgb, landmarks)
            elif kept[self._smile_columns].max() >= MIN_SMILE_TO_JUDGE:
                self.support.offer(frame.t, frame.rgb, landmarks)
            else:
                self.support.skip(1.0)  # too small a smile to need support
        if self._emotions:
            self.classes.append(classes)
        if landmarks is not None:
            self._batch.append(landmarks[USED_LANDMARKS])
            self._batch_rows.append(len(self.t) - 1)
            if len(self._batch) >= _BATCH:
                self.flush()

    def flush(self) -> None:
        if self._batch:
            self._parts.append((np.array(self._batch_rows), measure(np.stack(self._batch))))
            self._batch, self._batch_rows = [], []

    def table(self) -> Table:
        self.flush()
        n = len(self.t)
        measures = (*RAW_MEASURES, *SERVER_MEASURES)
        raw: Table = {name: np.full(n, np.nan) for name in measures}
        for rows, part in self._parts:
            for name in measures:
                raw[name][rows] = part[name]
        scores = np.array(self.scores, dtype=np.float64).reshape(n, len(KEPT_INDEX))
        for column, name in enumerate(KEPT_BLENDSHAPES):
            raw[name] = scores[:, column]
        raw["mouth_skin"] = np.array(self.mouth_skin, dtype=float)
        raw["eyes_delta"] = np.array(self.eyes_delta, dtype=float)
        raw["smile_support"] = np.array(self.support.finish(), dtype=float)
        raw["nose_texture"] = np.array(self.nose_texture, dtype=float)
        raw["t"] = np.array(self.t, dtype=float)
        raw["brightness"] = np.array(self.brightness, dtype=float)
        raw["found"] = np.array(self.found, dtype=bool)
        return raw


def _quality(frames: Table, duration: float, settings: Settings) -> Quality:
    n = len(frames["t"])
    face_share = float(np.mean(frames["face_present"])) if n else 0.0
    bystander_share = float(np.mean(frames["n_faces"] >= 2)) if n else 0.0
    brightness = float(np.mean(frames["brightness"])) if n else 0.0
    present = frames["face_present"].astype(bool)
    hidden = frames["mouth_occluded"].astype(bool) | frames["eyes_occluded"].astype(bool)
    occluded_share = float(np.mean(hidden[present])) if present.any() else 0.0
    reason: ExclusionReason | None = None
    if duration < settings.min_duration_s:
        reason = ExclusionReason.TOO_SHORT
    elif brightness < settings.min_brightness:
        # Checked before faces: in the dark, face counts are guesses.
        reason = ExclusionReason.TOO_DARK
    elif bystander_share > settings.max_bystander_share:
        reason = ExclusionReason.BYSTANDER
    elif face_share < settings.min_face_share:
        reason = ExclusionReason.NO_FACE
    elif occluded_share > settings.max_occluded_share:
        reason = ExclusionReason.OCCLUDED
    return Quality(
        face_found_share=round(face_share, 4),
        bystander_share=round(bystander_share, 4),
        mean_brightness=round(brightness, 2),
        duration_s=round(duration, 3),
        n_frames=n,
        exclusion_reason=reason,
        occluded_share=round(occluded_share, 4),
    )


def analyze(
    path: str | Path,
    *,
    fps: float | None = None,
    on_progress: ProgressCallback | None = None,
    settings: Settings | None = None,
    emotions: bool = False,
    rest_levels: Mapping[str, float] | None = None,
    until_s: float | None = None,
) -> AnalysisResult:
    """Analyse one webcam clip: per-frame signals, per-second curves, quality, provenance.

    ``fps`` analyses a subsample (the first frame of each 1/fps slot of the real timestamps);
    the default is ``settings.fps``.
    ``emotions`` adds the EMOTION_METRICS; without it the appearance model's classes are reduced
    to a smile's support as each frame is read, and never kept.
    ``rest_levels``: the same panelist's rest level per expression from their other clips of the
    session (``provenance["rest_levels"]`` of those results); each expression's rest is the lower
    of this clip's and theirs, so a clip expressive throughout keeps its expressions when the
    panelist was calm in another.
    ``until_s`` stops decoding there (VideoReader.frames): the worker passes the clip's bound,
    its ad's length plus a margin (web/clips/bounds.py), so no clip costs more than its ad is
    worth (the log says where it stopped; the shared provenance does not vary by clip).
    ``on_progress`` receives the share of the file read, 0..1, about every 1%.
    Raises AnalysisError (a subclass naming the problem) for anything that is not a usable video.
    """
    settings = settings or Settings()
    if fps is not None:
        settings = replace(settings, fps=float(fps))
    reported = -1.0
    with VideoReader(path) as reader:
        models = FaceModels(settings)
        try:
            counter = _FaceCounts(models, settings.face_count_interval_s)
            hands = HandCover(models.hands, settings.hand_check_interval_s)
            collector = _Collector(
                Blendshapes(),
                AppearanceClassifier(),
                emotions=emotions,
                min_turn_deg=settings.frontal_min_yaw,
            )
            for index, frame in enumerate(reader.frames(settings.fps, until_s=until_s)):
                landmarks = models.landmarks(frame.rgb)
                collector.add(frame, landmarks)
                hands.add(frame.t, frame.rgb, landmarks)
                counter.add(index, frame)
                if on_progress is not None and frame.progress - reported >= 0.01:
                    reported = frame.progress
                    on_progress(min(frame.progress, 0.99))
            counter.finish()
        finally:
            models.close()
        info = reader.info
        if reader.stopped_at_s is not None:
            log.warning(
                "%s: decoding stopped at its bound (%.1f s, %d frames decoded)",
                reader.path.name,
                reader.stopped_at_s,
                reader.decoded,
            )

    raw = {**collector.table(), **hands.table()}
    n_faces = np.maximum(np.array(counter.counts, dtype=np.int64), raw.pop("found").astype(int))
    raw["n_faces"] = n_faces
    raw["face_present"] = (n_faces == 1) & np.isfinite(raw["yaw"])
    classes = None
    if emotions:
        classes = np.array(collector.classes, dtype=np.float64).reshape(-1, len(FER_CLASSES))
    provenance: dict[str, Any] = {
        "analysis_version": ANALYSIS_VERSION,
        "models": model_provenance(settings, models.version, emotions=emotions),
        "head_pose": "weighted Procrustes fit to mediapipe canonical_face_model (Apache-2.0)",
        "decoder": {
            "pyav": av.__version__,
            "container": info.container,
            "codec": info.codec,
            "width": info.width,
            "height": info.height,
        },
    }
    result = from_raw(raw, settings, provenance, classes=classes, rest_levels=rest_levels)
    if on_progress is not None:
        on_progress(1.0)
    return result


def from_raw(
    raw: Table,
    settings: Settings,
    provenance: dict[str, Any],
    *,
    classes: Array | None = None,
    rest_levels: Mapping[str, float] | None = None,
    not_measured: frozenset[str] = frozenset(),
) -> AnalysisResult:
    """The one signal path after the per-frame table: finalise, emotions (given ``classes``),
    per-second curves, quality and provenance. Server mode calls it on what it read from a video;
    on-device mode (worker.analysis.ondevice) on the records the panelist's browser sent.

    ``raw`` holds ``t``, ``n_faces``, ``face_present`` and everything ``signals.finalise`` reads.
    ``not_measured``: expressions this mode cannot read (empty, never a flat zero), beyond
    candor.metrics.NOT_MEASURED.
    """
    t = raw["t"]
    step = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    duration = float(t[-1] + step) if len(t) else 0.0
    frames, baselines = finalise(raw, settings, duration, rest_levels, not_measured=not_measured)
    emotions = classes is not None
    if classes is not None:
        classes = classes.copy()
        classes[~frames["face_present"]] = np.nan
        one_sided = np.where(frames["face_present"], one_sided_smile(raw), np.nan)
        frames.update(emotion_table(classes, frames, one_sided))
    frames = {name: frames[name] for name in frame_columns(emotions)}
    seconds = per_second(frames)
    unmeasured = NOT_MEASURED | not_measured
    provenance = {
        **provenance,
        "settings": settings.as_dict(),
        "baselines": {
            name: round(value, 5) if np.isfinite(value) else None
            for name, value in baselines.items()
        },
        # The rest level each expression was read against (the lowest of the session so far),
        # for the panelist's later clips; and what the earlier clips passed in.
        "rest_levels": {
            name: round(baselines[name], 5) for name in EXPRESSION_NAMES if name not in unmeasured
        },
        "rest_levels_given": dict(rest_levels or {}),
    }
    return AnalysisResult(frames, seconds, _quality(frames, duration, settings), provenance)
