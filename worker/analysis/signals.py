"""Per-frame signals: pose, gaze, eye opening, blinks, the 20 expressions, attention.

Two stages. ``measure`` turns a batch of face-mesh landmarks into raw geometric measures
(vectorised): head pose from the canonical fit, iris position, eye aspect ratios and the lips'
gap in the face's own frame, in canonical centimetres. ``finalise`` runs once over the whole
clip's raw measures and blendshape scores (a few numbers per frame, never pixels): it finds
blinks, turns blendshapes into expressions on the models' own zero (with a capped per-person
rest correction) and decides attention from head pose and where the eyes look.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from candor.metrics import EXPRESSION_NAMES, NOT_MEASURED
from worker.analysis.arrays import Array, Table
from worker.analysis.canonical import RIGID_IDS
from worker.analysis.constants import Settings
from worker.analysis.expressions import brows_lowered, expressions, eye_turn
from worker.analysis.geometry import fit_pose, to_canonical_axes
from worker.analysis.hands import EYE_REGIONS, MOUTH_REGIONS, REGION_EXPRESSIONS, REGION_NAMES
from worker.analysis.occlusion import EYE_EXPRESSIONS, MOUTH_EXPRESSIONS

# Mesh landmark ids (mediapipe topology; "right" is the subject's right, the image's left).
_EYE_CORNERS = ((33, 133), (263, 362))  # (outer, inner) per eye
_EYE_LIDS = (((160, 144), (158, 153)), ((385, 380), (387, 373)))  # (upper, lower) pairs
_IRIS_CENTRES = (468, 473)
_LIP_INNER = (13, 14)  # upper, lower
# The middle of each eye's upper and lower lid (subject's right eye, left eye).
_LID_MIDDLES = ((159, 145), (386, 374))
# The brows' inner ends (subject's right, left), over the eyes' inner corners (_EYE_CORNERS).
_INNER_BROWS = (55, 285)
_NEEDED = sorted(
    {i for pair in _EYE_CORNERS for i in pair}
    | {i for eye in _EYE_LIDS for pair in eye for i in pair}
    | {i for pair in _LID_MIDDLES for i in pair}
    | set(_IRIS_CENTRES)
    | set(_LIP_INNER)
    | set(_INNER_BROWS)
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
    "lip_gap",
    "lower_lid",
    "eye_aperture",
)
# Measures the server's mesh path reads and on-device records do not carry (on device, the
# expressions that need them are not measured: worker.analysis.ondevice.NOT_ON_DEVICE).
SERVER_MEASURES = ("brow_height",)
# Changes smaller than this share of a full expression read as 0, so a still face gives flat
# curves: the blendshape model's frame-to-frame jitter on a still face stays under ~0.03.
EXPRESSION_DEADZONE = 0.05


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
    lower_lid = np.zeros(len(face))
    aperture = np.zeros(len(face))
    eyes = zip(_EYE_CORNERS, _EYE_LIDS, _LID_MIDDLES, _IRIS_CENTRES, strict=True)
    for (outer, inner), lids, (upper_middle, lower_middle), iris in eyes:
        width = _dist(face, outer, inner)
        opening = sum(_dist(face, up, down) for up, down in lids) / len(lids)
        ears.append(opening / width)  # eye aspect ratio
        corners = _y(face, (outer, inner))
        # AU6 pushes the lower lid up from below and narrows the eye; a blink lowers the upper.
        lower_lid += (face[:, _COL[lower_middle], 1] - corners) / 2
        aperture += (face[:, _COL[upper_middle], 1] - face[:, _COL[lower_middle], 1]) / width / 2
        middle = 0.5 * (face[:, _COL[outer], :2] + face[:, _COL[inner], :2])
        # Iris centre within the eye: -1..1 from one corner to the other, same scale vertically.
        offset = (face[:, _COL[iris], :2] - middle) / (0.5 * width)[:, None]
        gaze_x += offset[:, 0] / 2
        gaze_y += offset[:, 1] / 2

    lip_gap = face[:, _COL[_LIP_INNER[0]], 1] - face[:, _COL[_LIP_INNER[1]], 1]
    # AU4 lowers the brows' inner ends towards the eyes (canonical cm above the inner corners).
    inner_corners = _y(face, tuple(inner for _, inner in _EYE_CORNERS))
    brow_height = _y(face, _INNER_BROWS) - inner_corners
    return {
        "yaw": yaw,
        "pitch": pitch,
        "roll": roll,
        "gaze_x": gaze_x,
        "gaze_y_raw": gaze_y,
        "ear_right": ears[0],
        "ear_left": ears[1],
        # AU25: the inner lips apart, canonical cm (0 when they touch).
        "lip_gap": np.maximum(lip_gap, 0.0),
        # AU6: the lower lids' middle above the eye corners (canonical cm), and the lids'
        # middles apart as a share of the eye's width.
        "lower_lid": lower_lid,
        "eye_aperture": aperture,
        "brow_height": brow_height,
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


def _hand_cover(raw: Table, n: int) -> dict[str, Array]:
    """Per face region, the frames a hand covers it (``hand_<region>`` in the raw table; none
    where the table has no such column, e.g. measures computed without the pixels)."""
    return {
        region: np.asarray(raw.get(f"hand_{region}", np.zeros(n, bool)), bool)
        for region in REGION_NAMES
    }


def looking_at_screen(gaze_yaw: Array, gaze_pitch: Array, settings: Settings) -> Array:
    """Whether the eyes point at the screen: gaze degrees from the camera, within the screen's
    extent as seen by the panelist (the camera on its top edge). NaN gaze is False."""
    with np.errstate(invalid="ignore"):
        return np.asarray(
            (np.abs(gaze_yaw) <= settings.max_gaze_yaw)
            & (gaze_pitch >= settings.min_gaze_pitch)
            & (gaze_pitch <= settings.max_gaze_pitch)
        )


def finalise(
    raw: Table,
    settings: Settings,
    end_time: float,
    rest_levels: Mapping[str, float] | None = None,
    *,
    not_measured: frozenset[str] = frozenset(),
) -> tuple[Table, dict[str, float]]:
    """The per-frame table from a whole clip's raw measures; also the baselines used.

    ``raw`` holds ``t``, ``face_present``, ``n_faces``, ``brightness``, RAW_MEASURES and
    KEPT_BLENDSHAPES, ``mouth_skin``, ``eyes_delta``, ``smile_support`` and ``nose_texture``
    (NaN on frames without a face), and may hold ``hand_<region>`` (hands.REGIONS: a hand covers
    it). Mouth expressions are NaN where the mouth is hidden (``mouth_occluded``: by the pixels'
    test or a hand), eye expressions where the eyes are (``eyes_occluded``), the expressions
    made under a hand where one covers that part of the face, and the
    expressions not measured (candor.metrics.NOT_MEASURED) everywhere. Baselines include each
    expression's rest offset (the per-person correction subtracted): the lower of this clip's
    and ``rest_levels``, the rest levels of the same panelist's other clips of the session,
    when given. ``not_measured`` empties more expressions (those a mode cannot read: on-device
    mode has no appearance evidence).
    """
    present = raw["face_present"].astype(bool)
    yaw, pitch = raw["yaw"], raw["pitch"]
    with np.errstate(invalid="ignore"):
        facing = (
            present
            & (np.abs(yaw) <= settings.rest_max_yaw)
            & (np.abs(pitch) <= settings.rest_max_pitch)
        )
        head_towards = (
            present & (np.abs(yaw) <= settings.max_yaw) & (np.abs(pitch) <= settings.max_pitch)
        )
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
    hand_on = _hand_cover(raw, len(present))
    with np.errstate(invalid="ignore"):
        eyes_hidden = present & (
            (raw["eyes_delta"] > settings.hidden_eyes_delta_e)
            | np.any([hand_on[region] for region in EYE_REGIONS], axis=0)
        )
    # Behind sunglasses the mesh guesses the lids: no blink is looked for there.
    shut &= ~eyes_hidden
    t = raw["t"]
    blink = np.zeros(len(t), bool)
    eyes_shut = np.zeros(len(t), bool)
    for first, after, seconds in _blink_runs(t, shut, reopened, end_time):
        (blink if seconds < settings.max_blink_s else eyes_shut)[first:after] = True

    eyes_open = reference & ~blink & ~eyes_shut
    gaze_y = raw["gaze_y_raw"] - baseline("gaze_y_raw", eyes_open if eyes_open.any() else reference)
    gaze_x = raw["gaze_x"]
    # Where the eyes point, in degrees from the camera: the head's turn plus the eyes' turn in
    # the head (the blendshapes' eyeLook scores).
    eye_side, eye_up = eye_turn(raw)
    gaze_yaw = yaw + settings.eye_yaw_deg * eye_side + settings.eye_yaw_offset_deg
    gaze_pitch = pitch + settings.eye_pitch_deg * eye_up + settings.eye_pitch_offset_deg
    looking = looking_at_screen(gaze_yaw, gaze_pitch, settings)
    # A blink is not inattention: during one, the gaze cannot be read and is not required.
    # Nor can it behind sunglasses: there the head's pose alone decides.
    attentive = head_towards & ~eyes_shut & (blink | looking | eyes_hidden)

    frames: Table = {
        "t": t,
        "face_present": present,
        "n_faces": raw["n_faces"],
        "yaw": yaw,
        "pitch": pitch,
        "roll": raw["roll"],
        "gaze_x": np.clip(gaze_x, -1, 1),
        "gaze_y": np.clip(gaze_y, -1, 1),
        "gaze_yaw": gaze_yaw,
        "gaze_pitch": gaze_pitch,
        "eye_open": 0.5 * (raw["ear_right"] + raw["ear_left"]),
        "blink": blink,
    }
    with np.errstate(invalid="ignore"):
        mouth_hidden = present & (
            (raw["mouth_skin"] >= settings.hidden_mouth_skin_share)
            | np.any([hand_on[region] for region in MOUTH_REGIONS], axis=0)
        )
    # Expressions made where a hand covers the face (a cheek, the chin, the brows, the nose).
    under_hand = {name: np.zeros(len(present), bool) for name in EXPRESSION_NAMES}
    for region, names in REGION_EXPRESSIONS.items():
        for name in names:
            under_hand[name] |= hand_on[region]
    # The nose root's texture against the panelist's own smooth nose (its lower quartile).
    texture = raw["nose_texture"][reference]
    texture = texture[np.isfinite(texture)]
    smooth = float(np.percentile(texture, settings.nose_rest_percentile)) if texture.size else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        crease = raw["nose_texture"] / smooth if smooth > 0 else np.full(len(t), np.nan)
    baselines["nose_texture"] = smooth
    model_scale = expressions({**raw, "nose_crease": crease}, raw["lip_gap"])
    # The brows' inner ends against the panelist's own median height (server mode's mesh only:
    # on-device records do not carry it, and there the blendshapes' furrow stands alone).
    heights = raw.get("brow_height", np.full(len(t), np.nan))
    usual = heights[reference & np.isfinite(heights)]
    usual_height = float(np.median(usual)) if usual.size else float("nan")
    baselines["brow_height"] = usual_height
    knit = brows_lowered(usual_height - heights, raw)
    earlier = rest_levels or {}
    for name in EXPRESSION_NAMES:
        if name in NOT_MEASURED or name in not_measured:  # empty, never a flat zero
            baselines[name] = float("nan")
            frames[name] = np.full(len(t), np.nan)
            continue
        values = model_scale[name]
        if name in MOUTH_EXPRESSIONS:
            readable = present & ~mouth_hidden
        elif name in EYE_EXPRESSIONS:
            readable = present & ~eyes_hidden
        else:
            readable = present
        readable = readable & ~under_hand[name]
        low = values[reference & readable]
        low = low[np.isfinite(low)]
        percentile, cap = settings.rest_rule(name)
        rest = float(np.percentile(low, percentile)) if low.size else 0.0
        if np.isfinite(earlier.get(name, np.nan)):
            rest = min(rest, earlier[name])
        rest = min(rest, cap)
        baselines[name] = rest
        scaled = (values - rest) / (1 - rest)
        if name == "brow_furrow":  # whichever sees the brows knit: blendshapes or mesh
            scaled = np.fmax(scaled, knit)
        scaled = (scaled - EXPRESSION_DEADZONE) / (1 - EXPRESSION_DEADZONE)
        frames[name] = np.where(readable, np.clip(scaled, 0.0, 1.0), np.nan)
    frames["mouth_occluded"] = mouth_hidden
    frames["eyes_occluded"] = eyes_hidden
    frames["attentive"] = attentive
    frames["brightness"] = raw["brightness"]
    return frames, baselines
