"""Is the mouth hidden? A hand over it leaves the mesh placing lips it cannot see.

The mesh and the blendshape model always place a mouth, so the judgement is made on the pixels:
a visible mouth shows lips (redder and darker than the face's skin), teeth (brighter) or the
mouth's dark inside, while a hand over it is skin. Per frame we sample a 5x3 grid across the mouth
(between the lip corners, from the top of the upper lip to the bottom of the lower one) and the
nose bridge's skin (points 6, 197, 195, which a hand over the mouth leaves uncovered), and report
the share of mouth samples whose colour is within SKIN_DELTA_E of that skin (CIELAB distance).
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


def mouth_skin_share(rgb: Array, landmarks: Array) -> float:
    """Share (0..1) of the mouth's samples that look like the face's own skin."""
    left, right = landmarks[_CORNERS[0], :2], landmarks[_CORNERS[1], :2]
    top, bottom = landmarks[_LIP_TOP, 1], landmarks[_LIP_BOTTOM, 1]
    xs = (left[0] + (right[0] - left[0]) * _ACROSS)[:, None].repeat(len(_DOWN), axis=1)
    ys = (top + (bottom - top) * _DOWN)[None, :].repeat(len(_ACROSS), axis=0)
    skin = landmarks[list(_NOSE_BRIDGE), :2]
    points = np.concatenate([np.stack([xs.ravel(), ys.ravel()], axis=1), skin])
    height, width = rgb.shape[:2]
    columns = np.clip(np.rint(points[:, 0]).astype(int), 1, width - 2)
    rows = np.clip(np.rint(points[:, 1]).astype(int), 1, height - 2)
    # A 3x3 patch around each point, averaged: one noisy pixel does not decide.
    offsets = np.array([-1, 0, 1])
    patch_rows = (rows[:, None, None] + offsets[None, :, None]).repeat(3, axis=2)
    patch_columns = (columns[:, None, None] + offsets[None, None, :]).repeat(3, axis=1)
    colours = rgb[patch_rows, patch_columns].reshape(len(points), 9, 3).mean(axis=1)
    lab = cv2.cvtColor(colours.astype(np.uint8)[None], cv2.COLOR_RGB2LAB)[0].astype(float)
    lab[:, 0] *= 100 / 255  # OpenCV's 8-bit L is 0..255; ΔE wants 0..100
    n_mouth = len(points) - len(_NOSE_BRIDGE)
    distance = np.linalg.norm(lab[:n_mouth] - lab[n_mouth:].mean(axis=0), axis=1)
    return float(np.mean(distance < SKIN_DELTA_E))
