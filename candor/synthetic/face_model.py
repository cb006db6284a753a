"""The synthetic panelist: scikit-image's astronaut, meshed once, with its warp fields.

Every displacement field is a backward map at full strength (level 1): an output pixel p shows
the still at p - field(p). Fields are anchored on the still's own face-mesh landmarks and sized
in inter-ocular distances, so they scale with the frame.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]

# Face width (mesh extent) as a share of the frame width: a panelist ~60 cm from a laptop camera.
FACE_WIDTH_SHARE = 0.25
# Where the face centre sits in the frame, as shares of width and height.
FACE_CENTRE = (0.5, 0.45)

# Landmark sets of mediapipe's 468-point topology (image-left eye is the subject's right eye).
EYES = (
    # (upper lid, lower lid, outer corner, inner corner)
    ((246, 161, 160, 159, 158, 157, 173), (7, 163, 144, 145, 153, 154, 155), 33, 133),
    ((466, 388, 387, 386, 385, 384, 398), (249, 390, 373, 374, 380, 381, 382), 263, 362),
)
INNER_UPPER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LOWER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
BROWS = (
    70,
    63,
    105,
    66,
    107,
    46,
    53,
    52,
    65,
    55,
    300,
    293,
    334,
    296,
    336,
    276,
    283,
    282,
    295,
    285,
)
_INNERBROWS = ((107, 66, 55, 65), (336, 296, 285, 295))
_MIDBROWS = ((105, 52), (334, 282))


@dataclass
class Face:
    """The still, placed in a canvas, with its landmarks and precomputed warp fields."""

    canvas: Array  # RGB, larger than the frame so the crop can sway
    background: Array  # the same canvas defocused: the room with nobody in it
    origin: tuple[int, int]  # crop origin of the neutral frame within the canvas
    size: tuple[int, int]
    landmarks: Array  # (478, 2) in canvas pixels
    depth: Array  # (478,) landmark depth in canvas pixels, away from the camera
    iod: float  # inter-ocular distance (outer corners), pixels
    roi: tuple[int, int, int, int]  # x0, y0, x1, y1 in canvas coordinates
    grid: tuple[Array, Array]  # canvas x, y of every ROI pixel (float32)
    fields: dict[str, Array]  # kind -> (2, h, w) backward displacement at level 1
    eyes: list[tuple[int, int, Array, Array, Array]]
    bystander: tuple[Array, Array, int, int]  # patch, alpha, x0, y0 in the frame
    mouth: tuple[Array, Array, Array]  # inner lips per ROI column, lip span


def _mesh_still(image: Array) -> Array:
    import mediapipe as mp

    with mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=1, refine_landmarks=True
    ) as mesh:
        result = mesh.process(image)
    if not result.multi_face_landmarks:
        raise RuntimeError("face mesh found no face in the astronaut still")
    h, w = image.shape[:2]
    points = result.multi_face_landmarks[0].landmark
    return np.array([[p.x * w, p.y * h, p.z * w] for p in points], dtype=np.float64)


@functools.lru_cache(maxsize=1)
def _astronaut() -> tuple[Array, Array]:
    from skimage import data

    image = np.ascontiguousarray(data.astronaut())  # type: ignore[no-untyped-call]
    return image, _mesh_still(image)


def rbf(grid: tuple[Array, Array], anchors: Array, vectors: Array, sigma: float) -> Array:
    """Smooth field: each anchor carries its vector, spread by a Gaussian of width sigma.

    Normalised where anchors overlap (weights summing past 1), so dense anchors move the skin by
    their vector rather than by a multiple of it; far from anchors the field fades to zero.
    """
    gx, gy = grid
    out = np.zeros((2, *gx.shape), np.float32)
    total = np.zeros(gx.shape, np.float32)
    for (ax, ay), (vx, vy) in zip(anchors, vectors, strict=True):
        weight = np.exp(-((gx - ax) ** 2 + (gy - ay) ** 2) / (2 * sigma * sigma))
        out[0] += weight * vx
        out[1] += weight * vy
        total += weight
    field: Array = out / np.maximum(total, 1.0)
    return field


def smoothstep(x: Array) -> Array:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


JAW_DROP_IOD = 0.22  # lower lip travel at jaw_drop level 1, in inter-ocular distances


def _lip_lines(face_lm: Array, xs: Array) -> tuple[Array, Array]:
    """Inner upper and lower lip heights at each column x."""
    upper = face_lm[list(INNER_UPPER_LIP)]
    lower = face_lm[list(INNER_LOWER_LIP)]
    order_u, order_l = np.argsort(upper[:, 0]), np.argsort(lower[:, 0])
    y_upper = np.interp(xs, upper[order_u, 0], upper[order_u, 1])
    y_lower = np.interp(xs, lower[order_l, 0], lower[order_l, 1])
    return y_upper, y_lower


def _jaw_field(face_lm: Array, grid: tuple[Array, Array], iod: float) -> Array:
    """Lower lip and chin move down together; the lip gap opens and the neck absorbs it."""
    gx, gy = grid
    drop = JAW_DROP_IOD * iod
    y_upper, y_lower = (line[None, :] for line in _lip_lines(face_lm, gx[0]))
    chin = face_lm[152, 1]
    centre_x = 0.5 * (face_lm[61, 0] + face_lm[291, 0])
    across = smoothstep((0.6 * iod - np.abs(gx - centre_x)) / (0.25 * iod))
    opening = smoothstep((gy - y_upper) / np.maximum(y_lower + drop - y_upper, 1.0))
    below_chin = smoothstep(1 - (gy - chin - drop) / (0.45 * iod))
    profile = np.where(gy < chin + drop, opening, below_chin)
    out = np.zeros((2, *gx.shape), np.float32)
    out[1] = drop * across * profile
    return out


BROW_RAISE_IOD = 0.065  # brow travel at brow_raise level 1, in inter-ocular distances


def _brow_field(face_lm: Array, grid: tuple[Array, Array], iod: float) -> Array:
    """Both brows and the skin between them rise; the eyelids stay, the forehead bunches up."""
    gx, gy = grid
    rise = BROW_RAISE_IOD * iod
    brows = face_lm[list(BROWS)]
    order = np.argsort(brows[:, 0])
    xs = gx[0]
    y_brow = np.interp(xs, brows[order, 0], brows[order, 1])[None, :]
    lids = face_lm[[33, 160, 159, 158, 133, 362, 385, 386, 387, 263]]
    lid_order = np.argsort(lids[:, 0])
    y_lid = np.interp(xs, lids[lid_order, 0], lids[lid_order, 1])[None, :]
    y_lid = np.maximum(y_lid, y_brow + 0.15 * iod)
    span = (brows[:, 0].min(), brows[:, 0].max())
    across = smoothstep(np.minimum(gx - span[0], span[1] - gx) / (0.15 * iod) + 1)
    # Linear below the brow: the eyelid skin stretches evenly (a steeper ramp would fold it).
    below = np.clip((y_lid - gy) / (y_lid - y_brow), 0.0, 1.0)  # 1 at the brow, 0 at the lid
    above = smoothstep(1 - (y_brow - gy) / (0.7 * iod))  # fades out over the forehead
    profile = np.where(gy > y_brow, below, above)
    out = np.zeros((2, *gx.shape), np.float32)
    out[1] = -rise * across * profile
    return out


@functools.lru_cache(maxsize=4)
def face_model(size: tuple[int, int]) -> Face:
    image, still_3d = _astronaut()
    still_lm = still_3d[:, :2]
    width, height = size
    still_width = still_lm[:468, 0].max() - still_lm[:468, 0].min()
    scale = FACE_WIDTH_SHARE * width / still_width
    scaled = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    centre = still_lm[:468].mean(axis=0) * scale
    pad = int(0.3 * max(width, height)) + 16  # room for the crop around the face, plus sway
    canvas = cv2.copyMakeBorder(scaled, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    centre = centre + pad
    origin = (
        round(centre[0] - FACE_CENTRE[0] * width),
        round(centre[1] - FACE_CENTRE[1] * height),
    )
    landmarks = still_lm * scale + pad
    iod = float(np.linalg.norm(landmarks[33] - landmarks[263]))

    lo = landmarks[:468].min(axis=0) - 0.5 * iod
    hi = landmarks[:468].max(axis=0) + 0.6 * iod
    x0, y0, x1, y1 = (int(lo[0]), int(lo[1]), int(hi[0]) + 1, int(hi[1]) + 1)
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    grid = (gx, gy)

    # Backward displacement fields: output pixel p shows the still at p - field(p).
    u = iod
    lm = landmarks
    fields = {
        "smile": rbf(
            grid,
            lm[[61, 291, 205, 425, 50, 280]],
            np.array(
                [[-0.07, -0.06], [0.07, -0.06], [0, -0.035], [0, -0.035], [0, -0.03], [0, -0.03]]
            )
            * u,
            0.11 * u,
        ),
        "brow_raise": _brow_field(lm, grid, u),
        "brow_furrow": rbf(
            grid,
            np.concatenate(
                [
                    lm[list(_INNERBROWS[0] + _INNERBROWS[1])],
                    lm[list(_MIDBROWS[0] + _MIDBROWS[1])],
                ]
            ),
            # AU4 mostly lowers the inner brows over the eyes, drawing them a little together.
            np.array(
                [[0.03, 0.08]] * 4
                + [[-0.03, 0.08]] * 4
                + [[0.012, 0.05]] * 2
                + [[-0.012, 0.05]] * 2
            )
            * u,
            0.08 * u,
        ),
        "jaw_drop": _jaw_field(lm, grid, u),
    }

    eyes = []
    for upper_ids, lower_ids, outer, inner in EYES:
        upper, lower = lm[list(upper_ids)], lm[list(lower_ids)]
        xa = math.floor(min(lm[outer, 0], lm[inner, 0]))
        xb = math.ceil(max(lm[outer, 0], lm[inner, 0])) + 1
        xs = np.arange(xa, xb, dtype=np.float64)
        corners = lm[[outer, inner]]
        ux = np.concatenate([upper[:, 0], corners[:, 0]])
        uy = np.concatenate([upper[:, 1], corners[:, 1]])
        lx = np.concatenate([lower[:, 0], corners[:, 0]])
        ly = np.concatenate([lower[:, 1], corners[:, 1]])
        y_up = np.interp(xs, np.sort(ux), uy[np.argsort(ux)])
        y_lo = np.interp(xs, np.sort(lx), ly[np.argsort(lx)])
        y_lo = np.maximum(y_lo, y_up)
        eyes.append((xa, xb, xs, y_up, y_lo))

    y_upper, y_lower = _lip_lines(lm, gx[0])
    corners_x = sorted((lm[78, 0], lm[308, 0]))
    span = smoothstep((np.minimum(gx[0] - corners_x[0], corners_x[1] - gx[0])) / (0.12 * u))
    mouth = (y_upper, y_lower, span)

    # The empty room: the scene defocused (blurred small and scaled back up, for speed).
    small = cv2.resize(canvas, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=0.01 * width)
    background = cv2.resize(
        small, (canvas.shape[1], canvas.shape[0]), interpolation=cv2.INTER_LINEAR
    )

    # Bystander: the face region, mirrored, at 80% of the panelist's size, beside them.
    region_lo = (still_lm[:468].min(axis=0) - np.array([0.35, 0.55]) * still_width).astype(int)
    region_hi = (still_lm[:468].max(axis=0) + np.array([0.35, 0.35]) * still_width).astype(int)
    crop = image[region_lo[1] : region_hi[1], region_lo[0] : region_hi[0]]
    b_scale = 0.8 * scale
    patch = cv2.resize(crop[:, ::-1], None, fx=b_scale, fy=b_scale, interpolation=cv2.INTER_AREA)
    ph, pw = patch.shape[:2]
    yy, xx = np.mgrid[0:ph, 0:pw].astype(np.float32)
    ellipse = ((xx - pw / 2) / (0.46 * pw)) ** 2 + ((yy - ph / 2) / (0.48 * ph)) ** 2
    alpha = np.clip((1.0 - ellipse) / 0.15, 0.0, 1.0)[..., None].astype(np.float32)
    bx = int(min(width - pw, 0.86 * width - pw / 2))
    by = int(max(0, FACE_CENTRE[1] * height - 0.55 * ph))
    return Face(
        canvas,
        background,
        origin,
        size,
        landmarks,
        still_3d[:, 2] * scale,
        iod,
        (x0, y0, x1, y1),
        grid,
        fields,
        eyes,
        (patch, alpha, bx, by),
        mouth,
    )
