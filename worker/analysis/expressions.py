"""The 20 expressions (candor.metrics) from the blendshape model's scores, each tied to its AU.

Every expression is one or two ARKit blendshapes averaged over the face's two sides, on the
model's own scale: 0 is the model's neutral face, 1 its strongest. The exceptions say why:
``mouth_open`` is the parted lips measured on the mesh (the blendshapes have no lips-apart score:
``jawOpen`` stays near 0.07 in a broad toothy grin), and ``smirk`` is the difference between the
two lip corners' smiles.

The model runs twice per face. Expressions come from the landmarks turned to face the camera
(``geometry.frontal_landmarks``): a turned head foreshortens them, and on the development set
brow furrow ranks with a person's coding at 0.71 that way against 0.40 as seen. The eyes' gaze
scores come from the landmarks as seen: turned to the front they no longer carry the eyes' turn
against a tilted head (fitted on real faces looking at the camera, see ``eye_turn``).

``smile`` and ``smirk`` are the blendshapes' lip-corner pull times the appearance model's
support for a smile (``appearance.smile_support``): the landmark models read a sob, a disgusted
or a fearful lip stretch as much smile as a laugh; the face's pixels tell them apart.
"""

from __future__ import annotations

import numpy as np

from candor.metrics import EXPRESSION_NAMES, NOT_MEASURED
from worker.analysis.arrays import Array, Table
from worker.analysis.trained import BLENDSHAPE_INDEX

# Expression -> the blendshapes (both sides) whose mean it is.
SOURCES: dict[str, tuple[str, ...]] = {
    "smile": ("mouthSmileLeft", "mouthSmileRight"),  # AU12, times the appearance support
    "inner_brow_raise": ("browInnerUp",),  # AU1
    "brow_raise": ("browOuterUpLeft", "browOuterUpRight"),  # AU2
    "brow_furrow": ("browDownLeft", "browDownRight"),  # AU4, discounted by the smile (below)
    "eye_widen": ("eyeWideLeft", "eyeWideRight"),  # AU5
    "lid_tighten": ("eyeSquintLeft", "eyeSquintRight"),  # AU7
    "upper_lip_raise": ("mouthUpperUpLeft", "mouthUpperUpRight"),  # AU10, discounted too
    "dimpler": ("mouthDimpleLeft", "mouthDimpleRight"),  # AU14
    "chin_raise": ("mouthShrugLower",),  # AU17
    "lip_pucker": ("mouthPucker",),  # AU18
    "lip_press": ("mouthPressLeft", "mouthPressRight"),  # AU24
    "lip_suck": ("mouthRollLower", "mouthRollUpper"),  # AU28
    "jaw_drop": ("jawOpen",),  # AU26
    "eye_closure": ("eyeBlinkLeft", "eyeBlinkRight"),  # AU43
}
# A smile moves these blendshapes too: the brows read lowered in a laugh, and the upper lip
# rises over the teeth of every broad smile (mouthUpperUp 0.7-0.9 on the development set's
# toothy smiles, which a person codes without AU10). Each is discounted by the smile the
# appearance model supports, so a disgusted sneer or a sob (no support) keeps it whole.
SMILE_DISCOUNTED = ("brow_furrow", "upper_lip_raise")
# What the mesh measures instead (see the module docstring).
GEOMETRIC = {
    "mouth_open": "inner lips apart, mesh points 13-14, in canonical cm / MOUTH_OPEN_CM",
    "cheek_raise": "lower lids raised above the eye corners x the eye narrowed (mesh)",
}
APPEARANCE = {"nose_wrinkle": "creases across the nose root, against the panelist's smooth nose"}
DERIVED = {"smirk": "|mouthSmileLeft - mouthSmileRight| x the appearance support"}
# AU6 (cheek raise) lifts the lower lid from below and narrows the eye; a blink or a glance down
# moves the upper lid instead, so both must change. On the development faces at rest the lower
# lids' middle sits 0.29-0.43 cm below the eye corners and the lids are 0.29-0.35 of the eye's
# width apart; broad laughs raise the lids to -0.03..-0.22 cm and narrow them to 0.01-0.28.
LOWER_LID_REST_CM = -0.30
LOWER_LID_FULL_CM = 0.25
APERTURE_REST = 0.34
APERTURE_FULL = 0.20
# AU9: the nose root's crease texture as a multiple of the panelist's smooth nose (its lower
# quartile over the clip): below NOSE_CREASE_START it is skin texture, noise and light; the
# development set's wrinkled noses read 1.5-3.2x, its other faces up to 1.9x.
NOSE_CREASE_START = 1.8
NOSE_CREASE_FULL = 1.5
# AU4 also lowers the brows' inner ends towards the eyes, which the mesh follows where the
# blendshapes do not: with the mouth wide open (a shout), browDown reads 0.03-0.28 on brows a
# person codes as strongly knit. Measured against the panelist's own median height (brows move
# with speech): up to BROW_LOWERED_START_CM below it is speech and noise; on the development
# set the knit brows sit 0.1-0.45 cm below it, laughs up to 0.4 (discounted by the smile).
BROW_LOWERED_START_CM = 0.1
BROW_LOWERED_FULL_CM = 0.3
# Lips 2 cm apart read as a full mouth open: a broad toothy grin parts them ~1.5 cm, a
# surprised "oh" ~2 cm; 0 is lips touching, a physical zero that needs no baseline.
MOUTH_OPEN_CM = 2.0
# The blendshapes the pipeline keeps per frame: every source above, the smile's two sides for
# smirk, and the eyes' gaze scores for attention.
GAZE_BLENDSHAPES = (
    "eyeLookUpLeft",
    "eyeLookUpRight",
    "eyeLookDownLeft",
    "eyeLookDownRight",
    "eyeLookInLeft",
    "eyeLookInRight",
    "eyeLookOutLeft",
    "eyeLookOutRight",
)
KEPT_BLENDSHAPES = tuple(
    dict.fromkeys([*(n for names in SOURCES.values() for n in names), *GAZE_BLENDSHAPES])
)
KEPT_INDEX = np.array([BLENDSHAPE_INDEX[name] for name in KEPT_BLENDSHAPES])
# Where the gaze scores sit in a kept row: they are read from the landmarks as seen (below).
GAZE_COLUMNS = np.array([KEPT_BLENDSHAPES.index(name) for name in GAZE_BLENDSHAPES])
GAZE_INDEX = np.array([BLENDSHAPE_INDEX[name] for name in GAZE_BLENDSHAPES])


def expressions(scores: Table, lip_gap_cm: Array) -> Table:
    """Each measured expression per frame, 0..1 on the models' own zero, from the kept
    blendshapes, ``smile_support``, the mesh's lower lids and aperture, and ``nose_crease`` (the
    nose root's texture over the panelist's smooth nose) in ``scores`` (name -> per-frame
    values, NaN without a face), and the mesh's lip gap. The expressions not measured are left
    out (signals.finalise makes them empty)."""
    support = scores["smile_support"]
    pull = np.mean([scores[source] for source in SOURCES["smile"]], axis=0)
    out: Table = {}
    for name in EXPRESSION_NAMES:
        if name in NOT_MEASURED:
            continue
        if name == "smile":
            out[name] = pull * support
        elif name in SMILE_DISCOUNTED:
            both_sides = np.mean([scores[source] for source in SOURCES[name]], axis=0)
            out[name] = both_sides * (1.0 - pull * support)
        elif name in SOURCES:
            out[name] = np.mean([scores[source] for source in SOURCES[name]], axis=0)
        elif name == "mouth_open":
            out[name] = np.clip(lip_gap_cm / MOUTH_OPEN_CM, 0.0, 1.0)
        elif name == "cheek_raise":
            raised = (scores["lower_lid"] - LOWER_LID_REST_CM) / LOWER_LID_FULL_CM
            narrowed = (APERTURE_REST - scores["eye_aperture"]) / APERTURE_FULL
            out[name] = np.clip(raised, 0.0, 1.0) * np.clip(narrowed, 0.0, 1.0)
        elif name == "nose_wrinkle":
            creased = (scores["nose_crease"] - NOSE_CREASE_START) / NOSE_CREASE_FULL
            out[name] = np.clip(creased, 0.0, 1.0)
        elif name == "smirk":
            out[name] = one_sided_smile(scores) * support
        else:
            raise ValueError(f"no source for expression {name!r}")
    return out


def brows_lowered(lowered_cm: Array, scores: Table) -> Array:
    """AU4 from the mesh, 0..1: the brows' inner ends lowered ``lowered_cm`` below the
    panelist's own median, discounted by the smile the appearance model supports like the
    blendshapes' furrow (a laugh's cheeks push the brows down too). NaN where not measured."""
    pull = np.mean([scores[source] for source in SOURCES["smile"]], axis=0)
    knit = np.clip((lowered_cm - BROW_LOWERED_START_CM) / BROW_LOWERED_FULL_CM, 0.0, 1.0)
    return np.asarray(knit * (1.0 - pull * scores["smile_support"]))


def one_sided_smile(scores: Table) -> Array:
    """How much more one lip corner is pulled than the other, per the blendshapes alone."""
    return np.asarray(np.abs(scores["mouthSmileLeft"] - scores["mouthSmileRight"]))


def eye_turn(scores: Table) -> tuple[Array, Array]:
    """The eyes' turn in the head per the blendshapes, both eyes averaged, each -1..1.

    Sideways is eyes turned to the subject's left (left eye out, right eye in) minus to the
    right: positive turns the gaze the way a positive ``yaw`` turns the face (towards the
    image's right). Up is eyeLookUp minus eyeLookDown, positive up like ``pitch``. On real faces
    looking at the camera with their heads turned, the eyes turn back: yaw + 30° x sideways
    stays near 0 (Settings.eye_yaw_deg).
    """
    left = (scores["eyeLookOutLeft"] + scores["eyeLookInRight"]) / 2
    right = (scores["eyeLookOutRight"] + scores["eyeLookInLeft"]) / 2
    up = (scores["eyeLookUpLeft"] + scores["eyeLookUpRight"]) / 2 - (
        scores["eyeLookDownLeft"] + scores["eyeLookDownRight"]
    ) / 2
    return left - right, up
