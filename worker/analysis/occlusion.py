"""Are the mouth or the eyes hidden? The mesh places lips and eyes it cannot see.

**Mouth.**
The mesh and the blendshape model always place a mouth, so the judgement is made on the pixels:
a visible mouth shows lips (redder and darker than the face's skin), teeth (brighter) or the
mouth's dark inside, while a hand over it is skin. Per frame we sample a 5x3 grid across the mouth
(between the lip corners, from the top of the upper lip to the bottom of the lower one) and the
nose bridge's skin (points 6, 197, 195, which a hand over the mouth leaves uncovered), and report
the share of mouth samples whose colour is within SKIN_DELTA_E of that skin (CIELAB distance).

**Eyes.** Sunglasses (or any object that is not skin) over the eyes also cover the skin just
below them. Per frame, for each eye, we take the median colour distance of six points on that
ring below the lower lid from the face's own skin, judged twice, against the forehead and against
the nose tip and cheeks (bangs can cover the one, a beard or mask the other), keeping the nearer.
Both eyes past ``Settings.hidden_eyes_delta_e``: the eyes are hidden.
"""

from __future__ import annotations

import cv2
import numpy as np

from worker.analysis.arrays import Array

# Colours closer than this (CIELAB ΔE) to the nose bridge's are skin. On the development faces a
# visible mouth's samples sit a median ΔE 10-33 away; a skin patch over it 3-5.
SKIN_DELTA_E = 10.0
_CORNERS = (61, 291)
_LIP_TOP, _LIP_BOTTOM = 0, 17
_NOSE_BRIDGE = (6, 197, 195)
_ACROSS = np.linspace(0.15, 0.85, 5)
_DOWN = np.linspace(0.2, 0.8, 3)

# The ring below each lower lid (subject's right eye, left eye) and the two skin references.
_EYE_RINGS = ((230, 229, 228, 231, 118, 119), (450, 449, 448, 451, 347, 348))
_FOREHEAD = (151, 108, 337, 9)
_LOWER_FACE = (4, 1, 50, 280, 205, 425)

# Expressions the eyes make: unreadable (NaN) while they are hidden.
EYE_EXPRESSIONS = ("eye_closure", "eye_widen", "lid_tighten", "cheek_raise")

# Expressions the mouth makes: unreadable (NaN) while it is hidden.
MOUTH_EXPRESSIONS = (
    "smile",
    "upper_lip_raise",
    "dimpler",
    "lip_corner_depressor",
    "chin_raise",
    "lip_pucker",
    "lip_stretch",
    "lip_press",
    "lip_suck",
    "mouth_open",
    "jaw_drop",
    "smirk",
)


def _lab(rgb: Array, points: Array) -> Array:
    """CIELAB colour (L 0..100) of a 3x3 patch around each (x, y) point, averaged."""
    height, width = rgb.shape[:2]
    columns = np.clip(np.rint(points[:, 0]).astype(int), 1, width - 2)
    rows = np.clip(np.rint(points[:, 1]).astype(int), 1, height - 2)
    offsets = np.array([-1, 0, 1])
    patch_rows = (rows[:, None, None] + offsets[None, :, None]).repeat(3, axis=2)
    patch_columns = (columns[:, None, None] + offsets[None, None, :]).repeat(3, axis=1)
    colours = rgb[patch_rows, patch_columns].reshape(len(points), 9, 3).mean(axis=1)
    lab = cv2.cvtColor(colours.astype(np.uint8)[None], cv2.COLOR_RGB2LAB)[0].astype(float)
    lab[:, 0] *= 100 / 255  # OpenCV's 8-bit L is 0..255; ΔE wants 0..100
    return np.asarray(lab)


def eyes_hidden_delta(rgb: Array, landmarks: Array) -> float:
    """How far (CIELAB ΔE) the skin below the less covered eye is from the face's own skin."""
    ids = [*_EYE_RINGS[0], *_EYE_RINGS[1], *_FOREHEAD, *_LOWER_FACE]
    lab = _lab(rgb, landmarks[ids, :2])
    n_ring = len(_EYE_RINGS[0])
    rings = (lab[:n_ring], lab[n_ring : 2 * n_ring])
    forehead = lab[2 * n_ring : 2 * n_ring + len(_FOREHEAD)].mean(axis=0)
    lower = lab[2 * n_ring + len(_FOREHEAD) :].mean(axis=0)
    per_eye = [
        min(
            float(np.median(np.linalg.norm(ring - forehead, axis=1))),
            float(np.median(np.linalg.norm(ring - lower, axis=1))),
        )
        for ring in rings
    ]
    return min(per_eye)


def mouth_skin_share(rgb: Array, landmarks: Array) -> float:
    """Share (0..1) of the mouth's samples that look like the face's own skin."""
    left, right = landmarks[_CORNERS[0], :2], landmarks[_CORNERS[1], :2]
    top, bottom = landmarks[_LIP_TOP, 1], landmarks[_LIP_BOTTOM, 1]
    xs = (left[0] + (right[0] - left[0]) * _ACROSS)[:, None].repeat(len(_DOWN), axis=1)
    ys = (top + (bottom - top) * _DOWN)[None, :].repeat(len(_ACROSS), axis=0)
    skin = landmarks[list(_NOSE_BRIDGE), :2]
    points = np.concatenate([np.stack([xs.ravel(), ys.ravel()], axis=1), skin])
    lab = _lab(rgb, points)
    n_mouth = len(points) - len(_NOSE_BRIDGE)
    distance = np.linalg.norm(lab[:n_mouth] - lab[n_mouth:].mean(axis=0), axis=1)
    return float(np.mean(distance < SKIN_DELTA_E))
