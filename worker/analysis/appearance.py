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
support, and the frame's support is 1. Where its answer holds steady (a held smile), it judges
every other frame and the frames between take the support interpolated between their
neighbours' (``SmileSupports``); where the answer moves, every frame is judged.

Nose wrinkle (AU9): the mesh does not follow the skin's creases (the blendshape model's
noseSneer stays at zero on visibly wrinkled noses), so ``nose_root_texture`` measures them on
the pixels: the transverse creases AU9 draws across the nose root, as vertical intensity
gradients, read against the same panelist's smooth nose (signals.finalise).
"""

from __future__ import annotations

from collections.abc import Callable

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
# Supports closer than this are steady: a frame between two such judgements (a held smile, a
# held sob) takes the support interpolated between them instead of its own judgement.
STEADY_CHANGE = 0.02
# A floor on the evidence, so a face read as neither (all rest class) keeps half its smile.
_EPSILON = 0.02


def smile_support(probabilities: Array) -> Array:
    """Per frame 0..1: the appearance model's evidence for a smile against a sob, disgust, fear or
    anger, from its class probabilities (n, 7); NaN rows stay NaN."""
    smiling = probabilities[:, _SMILING]
    against = probabilities[:, _NOT_SMILING].sum(axis=1)
    return np.asarray((smiling + _EPSILON) / (smiling + against + 2 * _EPSILON))


class SmileSupports:
    """The smile support of each analysed frame, running the appearance model only where its
    answer can matter.

    Frames come in order: ``skip`` (no face: NaN; a smile too small to judge: 1), ``judge``
    (always run the model: emotion mode) or ``offer`` (a smile to judge). An offered frame right
    after a judged one whose support was steady (within ``STEADY_CHANGE`` of the judgement
    before it) waits: when the next frame is judged and its support is within ``STEADY_CHANGE``
    of the one before the wait, the waiting frame takes the support interpolated between the two;
    otherwise (the support moved, the smile ended, the face was lost, the clip ended) the model
    runs on the waiting frame after all. At most every other frame of a held smile is left out.
    """

    def __init__(self, classify: Callable[[Array, Array], Array]) -> None:
        self._classify = classify
        self.values: list[float] = []
        self._last: tuple[float, float] | None = None  # (t, support) of the last judged frame
        self._steady = False  # the last judgement within STEADY_CHANGE of the one before it
        self._waiting: tuple[int, float, Array, Array] | None = None  # row, t, rgb, landmarks

    def skip(self, value: float) -> None:
        """A frame the model does not judge: ``value`` is its support."""
        self._settle(None)
        self._last, self._steady = None, False
        self.values.append(value)

    def judge(self, t: float, rgb: Array, landmarks: Array) -> Array:
        """Run the model on this frame; its class probabilities (FER_CLASSES)."""
        classes = self._classify(rgb, landmarks)
        self._judged(t, float(smile_support(classes[None])[0]))
        return classes

    def offer(self, t: float, rgb: Array, landmarks: Array) -> None:
        """A frame whose smile needs support: judged now, or left waiting (see the class)."""
        if self._waiting is None and self._last is not None and self._steady:
            self._waiting = (len(self.values), t, rgb, landmarks)
            self.values.append(np.nan)
        else:
            self.judge(t, rgb, landmarks)

    def finish(self) -> list[float]:
        """Settle a frame still waiting; every frame's support."""
        self._settle(None)
        return self.values

    def _judged(self, t: float, support: float) -> None:
        self._settle((t, support))
        last = self._last
        self._steady = last is not None and abs(support - last[1]) <= STEADY_CHANGE
        self._last = (t, support)
        self.values.append(support)

    def _settle(self, following: tuple[float, float] | None) -> None:
        if self._waiting is None:
            return
        row, t, rgb, landmarks = self._waiting
        self._waiting = None
        last = self._last
        if (
            following is not None
            and last is not None
            and abs(following[1] - last[1]) <= STEADY_CHANGE
        ):
            share = (t - last[0]) / (following[0] - last[0])
            self.values[row] = last[1] + share * (following[1] - last[1])
        else:
            self.values[row] = float(smile_support(self._classify(rgb, landmarks)[None])[0])


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
