"""Column names, the code version and every tunable threshold of the analysis, in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from candor.metrics import EMOTION_METRICS, EXPRESSION_NAMES
from candor.quality import ANALYSIS_EXCLUSION_REASONS

# Bump when any output of the analysis changes for the same input (stored with every result).
ANALYSIS_VERSION = "2.6.1"

MODEL_NAME = "mediapipe face_mesh (legacy solution, refine_landmarks=True, 478 points)"
MODEL_VERSION = "0.10.21"
DETECTOR_NAME = "mediapipe face_detection short_range (BlazeFace)"

EXPRESSIONS = EXPRESSION_NAMES

# Per-frame table, in this order.
FRAME_COLUMNS = (
    "t",
    "face_present",
    "n_faces",
    "yaw",
    "pitch",
    "roll",
    "gaze_x",
    "gaze_y",
    "gaze_yaw",
    "gaze_pitch",
    "eye_open",
    "blink",
    *EXPRESSIONS,
    "mouth_occluded",
    "eyes_occluded",
    "attentive",
    "brightness",
)

# Emotion mode adds these per frame and per second (after the expressions); never otherwise.
EMOTION_COLUMNS = EMOTION_METRICS

# Per-second table, in this order.
SECOND_COLUMNS = (
    "second",
    "n_frames",
    "attention",
    *EXPRESSIONS,
    "blinks",
    "face_present",
    "bystander",
)

EXCLUSION_REASONS = ANALYSIS_EXCLUSION_REASONS


def frame_columns(emotions: bool) -> tuple[str, ...]:
    """The per-frame columns, with the emotion columns in emotion mode."""
    if not emotions:
        return FRAME_COLUMNS
    at = FRAME_COLUMNS.index("attentive")
    return (*FRAME_COLUMNS[:at], *EMOTION_COLUMNS, *FRAME_COLUMNS[at:])


def second_columns(emotions: bool) -> tuple[str, ...]:
    """The per-second columns, with the emotion columns in emotion mode."""
    if not emotions:
        return SECOND_COLUMNS
    at = SECOND_COLUMNS.index("blinks")
    return (*SECOND_COLUMNS[:at], *EMOTION_COLUMNS, *SECOND_COLUMNS[at:])


# Expressions whose per-person rest level is the panelist's median, not their least expressive
# moments (Settings.rest_rule): what a face holds at rest or while talking differs from person to
# person, and the 5th percentile reads that difference as expression for the whole clip.
# - brow_furrow: brows move with speech both ways; resting brows read 0.1-0.45 browDown.
# - lid_tighten: resting lids read 0.2-0.45 eyeSquint (more looking down).
# - chin_raise: mouthShrugLower moves with every syllable; a webcam clip of a man talking
#   (cap12) read it over 0.1 in 42 % of its seconds (16 % at the median, the hand on the chin
#   included) and 0.16 on its neutral spell (0.08).
# - brow_raise: a face's resting brows sit at its own height; on the development faces the
#   median rest ranks with the person's coding at 0.69 (0.58 at the 5th percentile).
MEDIAN_REST = frozenset({"brow_furrow", "lid_tighten", "chin_raise", "brow_raise"})


@dataclass(frozen=True)
class Settings:
    """Thresholds of the analysis; each is recorded in the result's provenance.

    Angles are degrees (gaze too: where the eyes point, from the camera); durations are seconds.
    """

    # Face finding. The BlazeFace score of a real, lit face is 0.9+; drawings, cartoons and
    # face-like textures score well below 0.75, so they are not taken for faces.
    min_face_confidence: float = 0.75
    # The mesh keeps tracking a face from frame to frame while its own presence score holds.
    min_tracking_confidence: float = 0.5
    # How often a second face is looked for (seconds of clip time; each look costs about a
    # third of a frame's mesh). A change found between two looks is pinned to its exact frame
    # by re-checking the frames held in between; a bystander seen for less than this is missed.
    face_count_interval_s: float = 0.5
    # Hands on the face (worker/analysis/hands.py): looked for this often, with this palm score.
    # At 0.5 and 0.6 the palm detector took a teenager's own chin and a smiling woman's cheek for
    # hands (2 of the 13 development photos without a hand); from 0.7 it finds no such hand and
    # still every real hand on the development faces (7 photos, cap12's hand on the chin).
    # A look costs ~2.5 mesh calls (palm detection, and the hand landmarks per hand found): at
    # 1 s it adds ~7 % to a 15 fps analysis; a hand resting on the face stays for seconds.
    hand_check_interval_s: float = 1.0
    min_hand_confidence: float = 0.7

    # Attention: where the eyes point, head pose plus the eyes' turn in the head, within the
    # screen; eyes open. Head pose alone is not gaze: on 21 real faces looking at the camera
    # with heads turned up to 32° (npm @vladmandic/face-api's demo photos, coded in
    # tests/worker/analysis/real/labels.json), the eyes turned back against the head so that
    # head yaw + eye_yaw_deg x the blendshapes' signed eye turn stayed within ±11° (pitch
    # -12°..+3°), while the faces looking down or away read 21-46° off.
    # The head must still face the camera roughly: beyond these the mesh and the eye scores
    # are no longer read reliably.
    max_yaw: float = 40.0
    max_pitch: float = 35.0
    # Degrees of eye rotation for a full blendshape eye turn (eyeLookOut/In, eyeLookUp/Down
    # 0..1), fitted by least squares on those faces (26.6° sideways, 23.2° up; rounded).
    eye_yaw_deg: float = 30.0
    eye_pitch_deg: float = 30.0
    # Degrees added to the eyes' gaze after the turn above: 0 for the server's landmarks, where
    # the factors were fitted. On-device mode (worker/analysis/ondevice.py ON_DEVICE_GAZE) reads
    # FaceLandmarker v2's own blendshapes, whose eyeLook scores sit elsewhere, and sets its own.
    eye_yaw_offset_deg: float = 0.0
    eye_pitch_offset_deg: float = 0.0
    # The screen seen from the panelist, in gaze degrees from the camera: ±20° sideways holds a
    # laptop or desktop screen at arm's length; the camera sits on the screen's top edge, so
    # the screen lies below it (down to -25°) and anything above +12° is above the screen.
    max_gaze_yaw: float = 20.0
    min_gaze_pitch: float = -25.0
    max_gaze_pitch: float = 12.0
    # Expressions are read from the landmarks turned to face the camera (geometry.
    # frontal_landmarks) when the head is turned sideways by at least this much; a face nearer
    # the front is read as seen, saving the blendshape model's second run.
    frontal_min_yaw: float = 10.0
    # Rest levels (below) come from frames with the head within this cone of the camera.
    rest_max_yaw: float = 30.0
    rest_max_pitch: float = 25.0
    # Eyes shut longer than a blink (see max_blink_s) are not watching.
    max_blink_s: float = 0.5
    # An eye counts as shut below this share of the panelist's own open-eye aspect ratio.
    eye_closed_ratio: float = 0.6
    # Eyes count as open again above this share (hysteresis, so noise cannot split a blink).
    eye_reopen_ratio: float = 0.75

    # Neutral baseline: this percentile of each measure over the panelist's frames facing the
    # screen with eyes open. Viewers are neutral most of the time, so the median is neutral as
    # long as no expression fills half the clip; a lower percentile would survive longer
    # expressions but reads a frown as "below neutral" brows and so misplaces brow neutral.
    neutral_percentile: float = 50.0
    # Expressions use the models' own zero (a blendshape model's neutral face reads ~0); the
    # per-person correction subtracts this low percentile of the panelist's frames facing the
    # screen (their least expressive moments), but never more than max_rest_offset, so a face
    # that smiles through a whole short clip still reads a smile.
    rest_percentile: float = 5.0
    max_rest_offset: float = 0.3
    # Brows move with speech both ways (raised for emphasis, lowered between), and a person's
    # resting brows read anywhere from 0.1 to 0.45 browDown: the brow furrow's rest is their
    # median, capped higher. A man talking and laughing for 200 s (coded with no furrow) read a
    # furrow curve at his 5th percentile; at his median it stays low. The lids likewise: eyeSquint
    # reads 0.2-0.45 on the development set's faces at rest (more when they look down), so lid
    # tighten's rest is the median too (its mean where a person saw no AU7: 0.21 at the 5th
    # percentile, 0.03 at the median). The same for the other expressions a resting or talking
    # face holds half the time (MEDIAN_REST).
    median_rest_percentile: float = 50.0
    median_max_rest_offset: float = 0.45
    # Eye closure rests at the panelist's lower quartile: hooded or downcast resting lids read
    # eyeBlink well above a wide-eyed moment's, and on a webcam clip coded with the eyes open
    # throughout (cap12) the 5th percentile left 0.15 eye closure in 80 % of its seconds (0.04
    # at the quartile); the median would also take the lids' trace of lowering around a real
    # blink (its frame-by-frame Spearman 0.77 against 0.84) and a singer's eyes held shut.
    eye_closure_rest_percentile: float = 25.0
    # The nose root's smooth texture (nose wrinkle's reference): this percentile of the
    # panelist's frames facing the screen.
    nose_rest_percentile: float = 25.0

    # Frames analysed per second of clip; None analyses every frame. 15 keeps a blink (0.1-0.4 s)
    # on 2-6 frames and every real-face bar of the harness, and analyses a 30 fps webcam clip at
    # ~10 video-seconds per core-second (bench/analysis.py); every frame costs twice as much.
    fps: float | None = 15.0

    # Quality gates (exclusion reasons).
    min_duration_s: float = 2.0
    # Mean luma 0..255 of the whole frame. Below ~10% of full scale a webcam's auto-exposure
    # has given up and real sensor noise swamps the face; the mesh may still "find" one there
    # (on clean synthetic frames it does down to ~7), but its landmarks are not to be trusted.
    min_brightness: float = 25.0
    min_face_share: float = 0.5
    # Mouth occlusion (worker/analysis/occlusion.py): a frame whose mouth samples look like the
    # face's own skin for at least this share has its mouth hidden (a hand over it), and its
    # mouth expressions are unreadable (NaN). Visible mouths on the development faces reach
    # 0.53 at most (pressed lips), a skin patch over the mouth 0.87-1. A clip whose mouth is
    # hidden in more than max_occluded_share of its face frames is excluded ("occluded").
    hidden_mouth_skin_share: float = 0.75
    # Eyes (occlusion.eyes_hidden_delta): hidden when the skin ring below even the less covered
    # eye sits further than this (CIELAB ΔE) from the face's own skin. On the development faces
    # a visible eye's ring reads 4-20 (39 for one eye in coloured stage light), sunglasses 47-48.
    # Eye expressions are then NaN, blinks are not looked for, and attention is head pose alone.
    # Frames with the mouth or the eyes hidden count towards max_occluded_share.
    hidden_eyes_delta_e: float = 30.0
    max_occluded_share: float = 0.5
    max_bystander_share: float = 0.2

    def rest_rule(self, expression: str) -> tuple[float, float]:
        """(percentile, cap) of an expression's per-person rest level: MEDIAN_REST's are the
        panelist's median (what their face holds at rest and while talking), eye closure's
        their lower quartile, every other's their least expressive moments."""
        if expression == "eye_closure":
            return self.eye_closure_rest_percentile, self.max_rest_offset
        if expression in MEDIAN_REST:
            return self.median_rest_percentile, self.median_max_rest_offset
        return self.rest_percentile, self.max_rest_offset

    def as_dict(self) -> dict[str, Any]:
        """The settings as a plain dict, for provenance."""
        return asdict(self)
