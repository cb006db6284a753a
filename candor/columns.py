"""What each column of `candor analyze`'s CSVs holds: unit, range, FACS action unit, meaning.

`candor analyze -o curves.csv` writes these next to the curves as `curves.columns.csv`, so the
CSV itself keeps its bare column names (scripts read them) while a person can look up the scale
of each. Pure data built from `candor.metrics`, like it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from candor.metrics import EMOTIONS, EXPRESSION_BY_NAME

# column -> (unit or scale, what it is); expressions and emotions are filled in below.
_SECOND = {
    "second": ("s", "Second of clip time (0 is the first frame)."),
    "n_frames": ("count", "Frames analysed in this second."),
    "attention": ("share 0..1", "Share of this second's frames that were attentive."),
    "blinks": ("count", "Blinks that started in this second."),
    "face_present": ("share 0..1", "Share of frames with exactly one face."),
    "bystander": ("share 0..1", "Share of frames with two faces or more."),
}
_FRAME = {
    "t": ("s", "Time of the frame since the first frame."),
    "face_present": ("0/1", "Exactly one face found with confidence."),
    "n_faces": ("count", "Faces found in the frame."),
    "yaw": ("degrees", "Head turn left/right; 0 faces the camera."),
    "pitch": ("degrees", "Head tilt up/down; 0 faces the camera."),
    "roll": ("degrees", "Head tilt toward a shoulder."),
    "gaze_x": ("-1..1", "Iris position in the eye, left to right."),
    "gaze_y": ("-1..1", "Iris position in the eye, top to bottom."),
    "gaze_yaw": ("degrees", "Where the eyes point, left/right of the camera (head and eyes)."),
    "gaze_pitch": ("degrees", "Where the eyes point, above/below the camera (head and eyes)."),
    "eye_open": ("0..1", "How open the eyes are."),
    "blink": ("0/1", "Both eyes briefly closed (a blink, under 0.5 s)."),
    "mouth_occluded": ("0/1", "The mouth is hidden (a hand or a mask): its expressions empty."),
    "eyes_occluded": ("0/1", "The eyes are hidden (sunglasses, a hand)."),
    "attentive": ("0/1", "Face present, head and gaze toward the screen (a blink counts)."),
    "brightness": ("0..255", "Mean luma of the whole frame."),
}
_EMOTION = {
    **{e: ("0..1", f"Inferred {e} (emotion mode only), from the expressions.") for e in EMOTIONS},
    "valence": ("-1..1", "Inferred valence, negative to positive (emotion mode only)."),
    "engagement": ("0..1", "Inferred engagement (emotion mode only)."),
}


def describe(column: str, per_second: bool) -> tuple[str, str, str]:
    """(scale, FACS action unit or "", meaning) of a column of the curves or frames CSV."""
    expression = EXPRESSION_BY_NAME.get(column)
    if expression is not None and not expression.measured:
        return "empty", expression.au, "Not measured: no model here reads it on real faces."
    if expression is not None:
        where = "mean over attentive frames" if per_second else "this frame"
        return "0..1", expression.au, f"{expression.description} ({where})"
    if column in _EMOTION:
        scale, meaning = _EMOTION[column]
        return scale, "", meaning
    own = _SECOND if per_second else _FRAME
    if column not in own:
        raise KeyError(f"no description of the column {column!r}: add it to candor/columns.py")
    scale, meaning = own[column]
    return scale, "", meaning


def sidecar_path(csv_path: Path) -> Path:
    """Where the column descriptions of `csv_path` go: curves.csv -> curves.columns.csv."""
    return csv_path.with_name(f"{csv_path.stem}.columns.csv")


def write_sidecar(csv_path: Path, columns: Iterable[str], per_second: bool) -> Path:
    """Write the descriptions of `columns` next to `csv_path`; return the sidecar's path."""
    path = sidecar_path(csv_path)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["column", "scale", "au", "meaning"])
        for column in columns:
            writer.writerow([column, *describe(column, per_second)])
    return path
