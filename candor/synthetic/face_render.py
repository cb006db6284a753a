"""Render one frame of the synthetic panelist: expressions, blinks, a turned head, a bystander."""

from __future__ import annotations

import functools
import math
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from candor.synthetic.face_model import JAW_DROP_IOD, Face, face_model

Array = npt.NDArray[Any]


def _sway(t: float, iod: float) -> tuple[int, int]:
    """A small, slow head sway so the tracker sees motion, as with any living panelist."""
    amp = 0.03 * iod
    return (
        round(amp * math.sin(2 * math.pi * 0.23 * t)),
        round(0.6 * amp * math.sin(2 * math.pi * 0.31 * t + 1.0)),
    )


_FACE_OVAL = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)
TURN_STEP_DEG = 5.0  # turned views are rendered at this angular resolution and cached


@functools.lru_cache(maxsize=32)
def turned_canvas(size: tuple[int, int], yaw_deg: float) -> Array:
    """The still with its head turned by yaw_deg about a vertical axis (> 0: towards image right).

    The mesh is a 3-D surface: each landmark is rotated and the face is re-drawn triangle by
    triangle, farthest first, so the nose really passes in front of the far cheek. A ring around
    the face (hair, ears) turns with the head; a wider ring stays put (the room).
    """
    from scipy.spatial import Delaunay

    face = face_model(size)
    lm, depth = face.landmarks[:468], face.depth[:468]
    oval = face.landmarks[list(_FACE_OVAL)]
    centre = oval.mean(axis=0)
    back = float(depth[list(_FACE_OVAL)].max())
    head = centre + 1.45 * (oval - centre)
    room = centre + 2.4 * (oval - centre)
    src = np.concatenate([lm, head, room])
    z = np.concatenate([depth, np.full(len(head), back + 0.3 * face.iod), np.zeros(len(room))])
    theta = math.radians(yaw_deg)
    moving = np.arange(len(src)) < len(lm) + len(head)
    dst = src.copy()
    dst[moving, 0] = (
        centre[0] + (src[moving, 0] - centre[0]) * math.cos(theta) - z[moving] * math.sin(theta)
    )
    rotated_depth = (src[:, 0] - centre[0]) * math.sin(theta) + z * math.cos(theta)
    rotated_depth[~moving] = np.inf  # the room is behind everything

    triangles = Delaunay(src).simplices
    order = np.argsort(-rotated_depth[triangles].mean(axis=1))
    out = face.canvas.copy()
    for tri in triangles[order]:
        s_tri, d_tri = src[tri].astype(np.float32), dst[tri].astype(np.float32)
        if not moving[tri].any():
            continue  # the room does not move: the canvas already shows it
        x0, y0 = np.maximum(np.floor(d_tri.min(axis=0)).astype(int), 0)
        x1, y1 = np.minimum(
            np.ceil(d_tri.max(axis=0)).astype(int) + 1, [out.shape[1], out.shape[0]]
        )
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        local = d_tri - np.array([x0, y0], np.float32)
        matrix = cv2.getAffineTransform(s_tri, local)
        patch = cv2.warpAffine(
            face.canvas,
            matrix,
            (x1 - x0, y1 - y0),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT_101,
        )
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(mask, np.round(local).astype(np.int32), (1,))
        region = out[y0:y1, x0:x1]
        np.copyto(region, patch, where=mask[..., None].astype(bool))
    return out


def render_frame(
    face: Face,
    levels: dict[str, float],
    closure: float,
    yaw: float,
    absent: bool,
    bystander: bool,
    t: float,
) -> Array:
    width, height = face.size
    dx, dy = _sway(t, face.iod)
    ox, oy = face.origin[0] + dx, face.origin[1] + dy
    if absent:
        return face.background[oy : oy + height, ox : ox + width].copy()
    if yaw:
        # Expressions and blinks are not drawn on a turned head (the truth zeroes them there).
        step = TURN_STEP_DEG
        turned = turned_canvas(face.size, round(yaw / step) * step)
        frame = turned[oy : oy + height, ox : ox + width].copy()
        return _paste_bystander(face, frame) if bystander else frame
    frame = face.canvas[oy : oy + height, ox : ox + width].copy()

    x0, y0, x1, y1 = face.roi
    gx, gy = face.grid
    disp = np.zeros((2, *gx.shape), np.float32)
    for kind, level in levels.items():
        if level > 0:
            disp += np.float32(level) * face.fields[kind]
    map_x = gx - disp[0]
    map_y = gy - disp[1]
    if closure > 0:
        for xa, xb, _xs, y_up, y_lo in face.eyes:
            top = y_up - 0.15 * face.iod
            lid = y_up + closure * (y_lo - y_up)
            cols = slice(xa - x0, xb - x0)
            rows = gy[:, 0][:, None]
            squash = top + (rows - top) * (y_up - top) / np.maximum(lid - top, 1e-3)
            inside = (rows >= top) & (rows <= lid)
            map_y[:, cols] = np.where(inside, squash, map_y[:, cols]).astype(np.float32)
    warped = cv2.remap(
        face.canvas, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    jaw = levels.get("jaw_drop", 0.0)
    if jaw > 0:
        # The opened mouth shows its dark inside between the teeth, not stretched teeth.
        y_upper, y_lower, span = face.mouth
        gap = np.maximum(y_lower + jaw * JAW_DROP_IOD * face.iod - y_upper, 1.0)
        depth = np.clip((gy - y_upper) / gap, 0.0, 1.0)
        alpha = np.clip(1.4 * np.sin(np.pi * depth) - 0.25, 0.0, 1.0) * span * min(1.0, 2 * jaw)
        alpha = alpha[..., None].astype(np.float32)
        mouth_inside = np.array([45, 15, 20], np.float32)
        warped = (warped * (1 - alpha) + alpha * mouth_inside).astype(np.uint8)
    fx0, fy0 = x0 - ox, y0 - oy
    sx0, sy0 = max(0, -fx0), max(0, -fy0)
    ex, ey = min(x1 - x0, width - fx0), min(y1 - y0, height - fy0)
    frame[fy0 + sy0 : fy0 + ey, fx0 + sx0 : fx0 + ex] = warped[sy0:ey, sx0:ex]

    return _paste_bystander(face, frame) if bystander else frame


def _paste_bystander(face: Face, frame: Array) -> Array:
    patch, alpha, bx, by = face.bystander
    ph, pw = patch.shape[:2]
    region = frame[by : by + ph, bx : bx + pw].astype(np.float32)
    frame[by : by + ph, bx : bx + pw] = (alpha * patch + (1 - alpha) * region).astype(np.uint8)
    return frame
