"""Per-frame signals from face-mesh landmarks: pose, gaze, eye opening, expressions, attention.

Two stages. ``measure`` turns a batch of landmarks into raw measures (vectorised, no loop over
points): head pose from the canonical fit, then every expression as a distance in the face's own
frame, in canonical centimetres, so head turn, distance and face size are already gone.
``finalise`` runs once over the whole clip's raw measures (a few numbers per frame, never
pixels): it takes the panelist's own neutral face as baseline, finds blinks and decides attention.
"""

from __future__ import annotations

import numpy as np

from worker.analysis.arrays import Array, Table
from worker.analysis.canonical import RIGID_IDS
from worker.analysis.constants import EXPRESSION_DEADZONE, EXPRESSION_RANGE, EXPRESSIONS, Settings
from worker.analysis.geometry import fit_pose, to_canonical_axes

# Mesh landmark ids (mediapipe topology; "right" is the subject's right, the image's left).
_EYE_CORNERS = ((33, 133), (263, 362))  # (outer, inner) per eye
_EYE_LIDS = (((160, 144), (158, 153)), ((385, 380), (387, 373)))  # (upper, lower) pairs
_IRIS_CENTRES = (468, 473)
_BROWS = ((70, 63, 105, 66, 107), (300, 293, 334, 296, 336))
_INNER_BROWS = ((107, 66, 55, 65), (336, 296, 285, 295))
_MOUTH_CORNERS = (61, 291)
_LIP_INNER = (13, 14)  # upper, lower
_LIP_OUTER = (0, 17)  # top of the upper lip, bottom of the lower lip
_CHIN = 152
_NEEDED = sorted(
    {i for pair in _EYE_CORNERS for i in pair}
    | {i for eye in _EYE_LIDS for pair in eye for i in pair}
    | set(_IRIS_CENTRES)
    | {i for side in _BROWS + _INNER_BROWS for i in side}
    | {*_MOUTH_CORNERS, *_LIP_INNER, *_LIP_OUTER, _CHIN}
)
# The only landmarks the signals read: the pipeline keeps these ~60 of the 478 per frame.
USED_LANDMARKS = np.union1d(RIGID_IDS, _NEEDED)
_COL = {int(landmark): column for column, landmark in enumerate(USED_LANDMARKS)}
_RIGID_COLUMNS = [_COL[int(landmark)] for landmark in RIGID_IDS]

RAW_MEASURES = (
    "yaw",
    "pitch",
    "roll",
    "gaze_x",
    "gaze_y_raw",
    "ear_right",
    "ear_left",
    *(f"{name}_raw" for name in EXPRESSIONS),
)


def _y(face: Array, ids: tuple[int, ...]) -> Array:
    return np.asarray(face[:, [_COL[i] for i in ids], 1].mean(axis=1))


def _dist(face: Array, a: int, b: int) -> Array:
    delta = face[:, _COL[a], :2] - face[:, _COL[b], :2]
    return np.asarray(np.hypot(delta[:, 0], delta[:, 1]))


def measure(landmarks: Array) -> Table:
    """Raw per-frame measures for landmarks (n, len(USED_LANDMARKS), 3): the USED_LANDMARKS
    of each frame's mesh, in pixels (z on the x scale)."""
    points = to_canonical_axes(landmarks.astype(np.float64))
    pose = fit_pose(points[:, _RIGID_COLUMNS, :])
    yaw, pitch, roll = pose.angles()
    face = pose.to_face_frame(points)  # x right, y up, canonical cm

    ears = []
    gaze_x = np.zeros(len(face))
    gaze_y = np.zeros(len(face))
    eye_lines = []
    for (outer, inner), lids, iris in zip(_EYE_CORNERS, _EYE_LIDS, _IRIS_CENTRES, strict=True):
        width = _dist(face, outer, inner)
        opening = sum(_dist(face, up, down) for up, down in lids) / len(lids)
        ears.append(opening / width)  # eye aspect ratio
        middle = 0.5 * (face[:, _COL[outer], :2] + face[:, _COL[inner], :2])
        # Iris centre within the eye: -1..1 from one corner to the other, same scale vertically.
        offset = (face[:, _COL[iris], :2] - middle) / (0.5 * width)[:, None]
        gaze_x += offset[:, 0] / 2
        gaze_y += offset[:, 1] / 2
        eye_lines.append(_y(face, (outer, inner)))

    # Brows are measured above each eye's corner line, which the canonical fit holds still.
    brow = np.mean([_y(face, ids) - line for ids, line in zip(_BROWS, eye_lines, strict=True)], 0)
    inner = np.mean(
        [_y(face, ids) - line for ids, line in zip(_INNER_BROWS, eye_lines, strict=True)], 0
    )
    left_corner, right_corner = _MOUTH_CORNERS
    mouth_width = np.abs(face[:, _COL[right_corner], 0] - face[:, _COL[left_corner], 0])
    corner_height = _y(face, _MOUTH_CORNERS)
    lip_gap = face[:, _COL[_LIP_INNER[0]], 1] - face[:, _COL[_LIP_INNER[1]], 1]
    chin_drop = -face[:, _COL[_CHIN], 1]
    red_lips = (face[:, _COL[_LIP_OUTER[0]], 1] - face[:, _COL[_LIP_INNER[0]], 1]) + (
        face[:, _COL[_LIP_INNER[1]], 1] - face[:, _COL[_LIP_OUTER[1]], 1]
    )
    return {
        "yaw": yaw,
        "pitch": pitch,
        "roll": roll,
        "gaze_x": gaze_x,
        "gaze_y_raw": gaze_y,
        "ear_right": ears[0],
        "ear_left": ears[1],
        # AU12 pulls the lip corners out and up: half the widening plus the lift.
        "smile_raw": 0.5 * mouth_width + corner_height,
        # AU1+2 lift the whole brow above the eye.
        "brow_raise_raw": brow,
        # AU4 lowers the inner brows over the eyes (the mesh barely follows their drawing in).
        "brow_furrow_raw": -inner,
        # AU26/27: the lips part and the chin goes down; half of each.
        "jaw_drop_raw": 0.5 * lip_gap + 0.5 * chin_drop,
        # AU24 presses the lips together: the red of the lips gets thinner.
        "lip_press_raw": -red_lips,
    }


def _blink_runs(
    t: Array, shut: Array, reopened: Array, end_time: float
) -> list[tuple[int, int, float]]:
    """Runs of shut eyes as (first frame, frame after the last, seconds shut), with hysteresis."""
    runs = []
    start = -1
    for i in range(len(t)):
        if start < 0:
            if shut[i]:
                start = i
        elif reopened[i]:
            runs.append((start, i, float(t[i] - t[start])))
            start = -1
    if start >= 0:
        runs.append((start, len(t), float(end_time - t[start])))
    return runs


def finalise(raw: Table, settings: Settings, end_time: float) -> tuple[Table, dict[str, float]]:
    """The per-frame table from a whole clip's raw measures; also the baselines used.

    ``raw`` holds ``t``, ``face_present``, ``n_faces``, ``brightness`` and RAW_MEASURES (NaN on
    frames without a face).
    """
    present = raw["face_present"].astype(bool)
    yaw, pitch = raw["yaw"], raw["pitch"]
    with np.errstate(invalid="ignore"):
        facing = present & (np.abs(yaw) <= settings.max_yaw) & (np.abs(pitch) <= settings.max_pitch)
    # Baselines come from frames facing the screen: the panelist's own neutral face.
    reference = facing if facing.any() else present
    baselines: dict[str, float] = {}
    percentile = settings.neutral_percentile

    def baseline(name: str, where: Array) -> float:
        values = raw[name][where]
        value = float(np.percentile(values, percentile)) if values.size else float("nan")
        baselines[name] = value
        return value

    open_right = baseline("ear_right", reference)
    open_left = baseline("ear_left", reference)
    with np.errstate(invalid="ignore"):
        shut = (
            present
            & (raw["ear_right"] < settings.eye_closed_ratio * open_right)
            & (raw["ear_left"] < settings.eye_closed_ratio * open_left)
        )
        reopened = ~present | (
            (raw["ear_right"] >= settings.eye_reopen_ratio * open_right)
            | (raw["ear_left"] >= settings.eye_reopen_ratio * open_left)
        )
    t = raw["t"]
    blink = np.zeros(len(t), bool)
    eyes_shut = np.zeros(len(t), bool)
    for first, after, seconds in _blink_runs(t, shut, reopened, end_time):
        (blink if seconds < settings.max_blink_s else eyes_shut)[first:after] = True

    eyes_open = reference & ~blink & ~eyes_shut
    gaze_y = raw["gaze_y_raw"] - baseline("gaze_y_raw", eyes_open if eyes_open.any() else reference)
    gaze_x = raw["gaze_x"]
    with np.errstate(invalid="ignore"):
        looking = (np.abs(gaze_x) <= settings.max_gaze) & (np.abs(gaze_y) <= settings.max_gaze)
    # A blink is not inattention: during one, the gaze cannot be read and is not required.
    attentive = facing & ~eyes_shut & (blink | looking)

    frames: Table = {
        "t": t,
        "face_present": present,
        "n_faces": raw["n_faces"],
        "yaw": yaw,
        "pitch": pitch,
        "roll": raw["roll"],
        "gaze_x": np.clip(gaze_x, -1, 1),
        "gaze_y": np.clip(gaze_y, -1, 1),
        "eye_open": 0.5 * (raw["ear_right"] + raw["ear_left"]),
        "blink": blink,
    }
    neutral_frames = eyes_open if eyes_open.any() else reference
    for name in EXPRESSIONS:
        neutral = baseline(f"{name}_raw", neutral_frames)
        scaled = (raw[f"{name}_raw"] - neutral) / EXPRESSION_RANGE[name]
        scaled = (scaled - EXPRESSION_DEADZONE) / (1 - EXPRESSION_DEADZONE)
        frames[name] = np.where(present, np.clip(scaled, 0.0, 1.0), np.nan)
    frames["attentive"] = attentive
    frames["brightness"] = raw["brightness"]
    return frames, baselines
