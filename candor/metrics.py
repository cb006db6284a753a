"""Every curve Candor reports, named once: the contract between the analysis, the pipeline, the
results store, the API, the charts and the exports.

Pure data. It imports nothing of the project, so `worker/analysis` (which never imports web) and
`web/` (which never imports worker) both read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Expression:
    """One facial expression: its metric name, the FACS action unit(s) it stands for, words, and
    whether any model here measures it (docs/signals.md gives each one's source and figures)."""

    name: str
    au: str
    label: str
    description: str
    # False: no model that ships with Candor reads it on real faces (on the development set it
    # stays near zero where a person sees it: docs/signals.md). Its curves are empty, never a
    # flat zero, and every reader (picker, API, exports, reports) says "not measured".
    measured: bool = True


# The 20 expressions analysts know from AFFDEX (iMotions), each tied to its FACS action unit.
EXPRESSIONS: tuple[Expression, ...] = (
    Expression("smile", "AU12", "Smile", "Lip corners pulled up and back (lip corner puller)."),
    Expression("inner_brow_raise", "AU1", "Inner brow raise", "Inner ends of the brows lifted."),
    Expression("brow_raise", "AU2", "Brow raise", "Outer parts of the brows lifted."),
    Expression("brow_furrow", "AU4", "Brow furrow", "Brows lowered and drawn together."),
    Expression("eye_widen", "AU5", "Eye widen", "Upper lids raised, more of the eye showing."),
    Expression("cheek_raise", "AU6", "Cheek raise", "Cheeks lifted, crow's feet (Duchenne)."),
    Expression("lid_tighten", "AU7", "Lid tighten", "Eyelids tightened, eye aperture narrowed."),
    Expression("nose_wrinkle", "AU9", "Nose wrinkle", "Skin along the nose wrinkled upward."),
    Expression("upper_lip_raise", "AU10", "Upper lip raise", "Upper lip drawn up."),
    Expression("dimpler", "AU14", "Dimpler", "Lip corners tightened inward, dimples formed."),
    Expression(
        "lip_corner_depressor",
        "AU15",
        "Lip corner depressor",
        "Lip corners pulled down.",
        measured=False,
    ),
    Expression("chin_raise", "AU17", "Chin raise", "Chin boss pushed up, lower lip pushed up."),
    Expression("lip_pucker", "AU18", "Lip pucker", "Lips pushed forward and rounded."),
    Expression(
        "lip_stretch",
        "AU20",
        "Lip stretch",
        "Lips stretched sideways, flattened.",
        measured=False,
    ),
    Expression("lip_press", "AU24", "Lip press", "Lips pressed together."),
    Expression("lip_suck", "AU28", "Lip suck", "Lips drawn in over the teeth."),
    Expression("mouth_open", "AU25", "Mouth open", "Lips parted."),
    Expression("jaw_drop", "AU26", "Jaw drop", "Jaw lowered, mouth opened by the jaw."),
    Expression("smirk", "AU12 (one side)", "Smirk", "One lip corner pulled up, not the other."),
    Expression("eye_closure", "AU43", "Eye closure", "Both eyes closed (longer than a blink)."),
)
EXPRESSION_NAMES: tuple[str, ...] = tuple(e.name for e in EXPRESSIONS)
EXPRESSION_BY_NAME: dict[str, Expression] = {e.name: e for e in EXPRESSIONS}
# The expressions no model here measures: their per-frame and per-second values are empty (NaN,
# stored as null), and readers say "not measured" instead of drawing a curve.
NOT_MEASURED: frozenset[str] = frozenset(e.name for e in EXPRESSIONS if not e.measured)

# Emotion mode only (a study opts in and its consent text discloses it): computed, stored,
# aggregated and shown for no other clip. `valence` is -1..1; every other metric is 0..1.
EMOTIONS: tuple[str, ...] = ("joy", "surprise", "anger", "sadness", "disgust", "fear", "contempt")
EMOTION_METRICS: tuple[str, ...] = (*EMOTIONS, "valence", "engagement")

# Per-second curves stored for every clip: attention, the expressions, then quality measures.
QUALITY_METRICS: tuple[str, ...] = ("blinks", "face_present", "bystander")
CURVE_METRICS: tuple[str, ...] = ("attention", *EXPRESSION_NAMES, *QUALITY_METRICS)

# Value range of each metric where it is not 0..1 (blinks are a count per second).
METRIC_RANGE: dict[str, tuple[float, float]] = {"valence": (-1.0, 1.0), "blinks": (0.0, 10.0)}
