"""Appearance evidence from the face's pixels: whether a lip-corner pull is a smile, and whether
the nose root is wrinkled.

The blendshapes read a smile from where the lip corners are. A sob, a disgusted or a fearful
lip stretch and pressed lips pull the corners too, and the landmark models (the legacy mesh and
FaceLandmarker's own) read a sob at 0.8-0.9 mouthSmile. The appearance model
(``trained.AppearanceClassifier``) judges the whole face: the knit brows, shut eyes and the
mouth's shape together. Its seven outputs are reduced here, at once, to one number per frame,
``smile_support``: the weight of its evidence for a smiling face against the faces that pull
the lip corners without smiling. Nothing else of it is kept outside emotion mode.

The model runs only where its answer can change an expression: on frames whose blendshape
smile (either side) reaches ``MIN_SMILE_TO_JUDGE``; elsewhere the smile is too small to need
support, and the frame's support is 1. And it runs at most every ``JUDGE_INTERVAL_S`` (every
other frame at 15 fps, ~7 judgements a second): a face's look changes over a few frames, not
from one to the next. A frame between two judgements takes the support interpolated between
them (``fill_between_judgements``), or the last one's where no later one follows closely.

Nose wrinkle (AU9): the mesh does not follow the skin's creases (the blendshape model's
noseSneer stays at zero on visibly wrinkled noses), so ``nose_root_texture`` measures them on
the pixels: the transverse creases AU9 draws across the nose root, as vertical intensity
gradients, read against the same panelist's smooth nose (signals.finalise).
"""

from __future__ import annotations

import cv2
import numpy as np

from worker.analysis.arrays import Array
from worker.analysis.trained import FER_CLASSES

# The classes that say "a smiling face" and those that say "corners pulled without a smile".
# Surprise and the rest class are neither: talking faces read the rest class most of the time,
# and a slight smile while talking must keep its support.
_SMILING = FER_CLASSES.index("happy")
_NOT_SMILING = [FER_CLASSES.index(name) for name in ("angry", "disgust", "fear", "sad")]
# Below this blendshape smile (either side) the appearance model is not run.
MIN_SMILE_TO_JUDGE = 0.1
# Judge a smile at most this often (seconds between judgements): every other frame at 15 fps,
# every third at 30 fps. Emotion mode judges every face frame (its classes are kept per frame).
JUDGE_INTERVAL_S = 0.1
# Container timestamps are rounded (webm to the millisecond).
_TIMESTAMP_SLACK_S = 0.005
# A frame between judgements takes the support interpolated between the judgements either side
# when they are at most this far apart; otherwise the last judgement's.
_INTERPOLATE_WITHIN_S = 2.5 * JUDGE_INTERVAL_S
# A floor on the evidence, so a face read as neither (all rest class) keeps half its smile.
_EPSILON = 0.02


def smile_support(probabilities: Array) -> Array:
    """Per frame 0..1: the appearance model's evidence for a smile against a sob, disgust, fear or
    anger, from its class probabilities (n, 7); NaN rows stay NaN."""
    smiling = probabilities[:, _SMILING]
    against = probabilities[:, _NOT_SMILING].sum(axis=1)
    return np.asarray((smiling + _EPSILON) / (smiling + against + 2 * _EPSILON))


def judgement_due(t: float, last_judged_t: float) -> bool:
    """Whether a frame at ``t`` s whose smile needs support is judged by the appearance model,
    the last judgement having been at ``last_judged_t`` s (-inf for none)."""
    return t - last_judged_t >= JUDGE_INTERVAL_S - _TIMESTAMP_SLACK_S


def fill_between_judgements(t: Array, support: Array, judged: Array, pending: Array) -> Array:
    """``support`` (per frame) with each ``pending`` frame (a smile left between two
    judgements) filled from the ``judged`` frames (the model's own answers): the support
    interpolated in time between the judged frames either side, or the last judged frame's where
    the next is more than ``_INTERPOLATE_WITHIN_S`` after it, or there is none."""
    filled = np.array(support, dtype=float)
    waiting = np.flatnonzero(pending)
    answers = np.flatnonzero(judged)
    if not len(waiting) or not len(answers):
        return filled
    position = np.searchsorted(answers, waiting)
    before = answers[np.maximum(position - 1, 0)]
    after = answers[np.minimum(position, len(answers) - 1)]
    filled[waiting] = filled[before]
    close = (
        (position > 0) & (position < len(answers)) & (t[after] - t[before] <= _INTERPOLATE_WITHIN_S)
    )
    if close.any():
        w, b, a = waiting[close], before[close], after[close]
        share = (t[w] - t[b]) / (t[a] - t[b])
        filled[w] = filled[b] + share * (filled[a] - filled[b])
    return filled


# The nose root's patch is resampled to this size (pixels) before its texture is measured, so
# the measure does not depend on how large the face is in the frame.
_NOSE_PATCH = 32
_NOSE_TOP, _NOSE_MIDDLE, _NOSE_BOTTOM = 168, 6, 197
_INNER_EYE_CORNERS = (133, 362)


def nose_root_texture(rgb: Array, landmarks: Array) -> float:
    """How strongly the skin of the nose root is creased across (AU9's transverse wrinkles):
    the mean vertical intensity gradient over the patch between the eyes, from the top of the
    nose bridge to the middle of the nose, resampled to a fixed size. NaN if it is off frame."""
    width = abs(float(landmarks[_INNER_EYE_CORNERS[1], 0] - landmarks[_INNER_EYE_CORNERS[0], 0]))
    half = 0.35 * width
    centre = float(landmarks[_NOSE_MIDDLE, 0])
    top = float(min(landmarks[_NOSE_TOP, 1], landmarks[_NOSE_BOTTOM, 1])) - 0.3 * half
    bottom = float(max(landmarks[_NOSE_TOP, 1], landmarks[_NOSE_BOTTOM, 1])) + 0.3 * half
    x0, x1, y0, y1 = int(centre - half), int(centre + half), int(top), int(bottom)
    height, frame_width = rgb.shape[:2]
    if x1 - x0 < 4 or y1 - y0 < 4 or x0 < 0 or y0 < 0 or x1 > frame_width or y1 > height:
        return float("nan")
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    patch = cv2.resize(grey, (_NOSE_PATCH, _NOSE_PATCH), interpolation=cv2.INTER_AREA)
    across = cv2.Sobel(patch.astype(np.float32), cv2.CV_32F, 0, 1, ksize=3)
    return float(np.abs(across).mean())
