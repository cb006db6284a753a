"""On-device mode's server half: the shared test vectors, the record format, refusals, the one
signal path and the plausibility rules (worker/analysis/ondevice.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from worker.analysis.analyze_video import _brightness
from worker.analysis.errors import NoFrames
from worker.analysis.expressions import KEPT_BLENDSHAPES
from worker.analysis.occlusion import eyes_hidden_delta, mouth_skin_share
from worker.analysis.ondevice import (
    MIME_TYPE,
    NOT_ON_DEVICE,
    ON_DEVICE_BLENDSHAPE_MAP,
    RECORD,
    NotFaceRecords,
    analyze_records,
    check_format,
    decode,
    encode,
    is_records,
    on_device_settings,
    on_server_scale,
)
from worker.analysis.signals import RAW_MEASURES, USED_LANDMARKS, measure

VECTORS = json.loads((Path(__file__).parents[2] / "shared" / "ondevice_vectors.json").read_text())


@pytest.mark.parametrize("vector", VECTORS["faces"], ids=lambda v: v["name"])
def test_server_code_passes_the_shared_vectors(vector: dict) -> None:
    # The browser's port passes the same file (recorder_js/test/ondevice.test.js): a change to
    # either side that is not made to the other fails one of them.
    points = np.array(vector["landmarks"]).reshape(-1, 3)
    rgb = np.frombuffer(base64.b64decode(vector["rgb_base64"]), np.uint8)
    rgb = rgb.reshape(vector["height"], vector["width"], 3)
    got = measure(points[USED_LANDMARKS][None])
    assert [float(got[m][0]) for m in RAW_MEASURES] == pytest.approx(vector["measures"], abs=1e-9)
    assert mouth_skin_share(rgb, points) == pytest.approx(vector["mouth_skin"])
    assert eyes_hidden_delta(rgb, points) == pytest.approx(vector["eyes_delta"])
    assert _brightness(rgb) == pytest.approx(vector["brightness"], abs=1.0)


def test_records_encode_as_the_browser_writes_them() -> None:
    data = bytes.fromhex(VECTORS["records"]["hex"])
    assert len(data) == 2 * RECORD.itemsize == 384
    raw, _ = decode(data)
    frame = VECTORS["records"]["frames"][0]
    assert raw["t"][0] == pytest.approx(frame["t"])
    assert raw["face_present"].tolist() == [True, False]
    assert raw["jawOpen"][0] == pytest.approx(frame["blendshapes"]["jawOpen"], abs=1 / 65534)
    assert np.isnan(raw["jawOpen"][1]) and np.isnan(raw["yaw"][1])


def _stream(seconds: float = 20.0, fps: float = 15.0, seed: int = 1) -> dict:
    """A plausible synthetic stream: one face, small noise, a blink every 4 s."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, seconds, 1 / fps)
    n = len(t)
    rows: dict = {"t": t, "n_faces": np.ones(n, int), "brightness": np.full(n, 120.0)}
    rows["pose"] = np.zeros((n, 16))
    base = {
        "yaw": 2.0, "pitch": 1.0, "roll": 0.0, "gaze_x": 0.0, "gaze_y_raw": 0.1,
        "ear_right": 0.3, "ear_left": 0.3, "lip_gap": 0.05, "lower_lid": -0.35,
        "eye_aperture": 0.33,
    }  # fmt: skip
    for name, value in base.items():
        rows[name] = value + rng.normal(0, 0.01, n)
    for name in KEPT_BLENDSHAPES:
        rows[name] = np.clip(0.05 + rng.normal(0, 0.02, n), 0, 1)
    blink = (t % 4.0) < 0.15
    rows["ear_right"][blink] = rows["ear_left"][blink] = 0.05
    rows["mouth_skin"] = np.zeros(n)
    rows["eyes_delta"] = np.full(n, 5.0)
    rows["nose_texture"] = np.full(n, np.nan)
    return rows


def test_records_go_through_the_server_signal_path() -> None:
    rows = _stream()
    rows["jawOpen"][75:105] = 0.8  # seconds 5-7: the jaw drops
    result = analyze_records(encode(rows), MIME_TYPE)
    assert result.quality.exclusion_reason is None
    assert result.quality.stream_flags == ()
    seconds = result.seconds
    assert np.nanmax(seconds["jaw_drop"][5:7]) > 0.5 > np.nanmax(seconds["jaw_drop"][10:15])
    assert np.nansum(seconds["blinks"]) >= 4
    assert result.provenance["analysis_mode"] == "on-device"
    landmarker = result.provenance["models"]["landmarker"]
    assert landmarker["library_version"] == "0.10.34"
    assert landmarker["file"]["sha256"].startswith("64184e22")
    # Appearance-gated expressions are empty on device, never a flat zero.
    for name in NOT_ON_DEVICE:
        assert np.all(np.isnan(result.frames[name])), name
    assert np.isfinite(result.frames["brow_furrow"]).all()


def test_the_eyes_closure_is_put_on_server_mode_s_scale() -> None:
    from worker.analysis.analyze_video import from_raw
    from worker.analysis.constants import Settings

    rows = _stream()
    rows["eyeBlinkLeft"][75:105] = rows["eyeBlinkRight"][75:105] = 0.3  # seconds 5-7: half shut
    raw, _ = decode(encode(rows))
    raw["eyeBlinkLeft"][3] = np.nan
    mapped = on_server_scale(raw)
    assert set(ON_DEVICE_BLENDSHAPE_MAP) == {"eyeBlinkLeft", "eyeBlinkRight"}
    for name in KEPT_BLENDSHAPES:
        if name not in ON_DEVICE_BLENDSHAPE_MAP:
            assert mapped[name] is raw[name], name
            continue
        ok = np.isfinite(raw[name])
        assert np.array_equal(ok, np.isfinite(mapped[name])), "no face stays no face"
        order = np.argsort(raw[name][ok], kind="stable")
        assert np.all(np.diff(mapped[name][ok][order]) >= 0), "monotone: no ranking changes"
        # v2 reads the lids more open than the legacy mesh, most at rest.
        assert np.all(mapped[name][ok] > raw[name][ok])
    result = analyze_records(encode(rows), MIME_TYPE)
    assert result.provenance["blendshape_map"]["a_b"] == {
        name: list(ab) for name, ab in ON_DEVICE_BLENDSHAPE_MAP.items()
    }
    as_read = from_raw(
        decode(encode(rows))[0], on_device_settings(Settings()), {}, not_measured=NOT_ON_DEVICE
    )
    on_scale = np.nanmean(result.seconds["eye_closure"][5:7])
    assert on_scale > np.nanmean(as_read.seconds["eye_closure"][5:7]) + 0.03
    # Blinks come from the eye aspect ratios: the map moves none.
    assert np.nansum(result.seconds["blinks"]) == np.nansum(as_read.seconds["blinks"])


def test_a_looped_still_image_is_implausible() -> None:
    rows = _stream()
    for name in (*RAW_MEASURES, *KEPT_BLENDSHAPES):
        rows[name] = np.full(len(rows["t"]), rows[name][0])
    result = analyze_records(encode(rows), MIME_TYPE)
    assert "exact_repeats" in result.quality.stream_flags
    assert "frozen" in result.quality.stream_flags
    assert result.quality.exclusion_reason == "implausible"


def test_impossible_timing_and_a_minute_without_blinks_are_flagged() -> None:
    rows = _stream(seconds=70)
    rows["ear_right"][:] = rows["ear_left"][:] = 0.3 + np.random.default_rng(2).normal(
        0, 0.01, len(rows["t"])
    )
    result = analyze_records(encode(rows), MIME_TYPE)
    assert result.quality.stream_flags == ("no_blinks",)
    rows = _stream()
    rows["t"] = rows["t"] / 4  # 60 frames a second
    assert "impossible_timing" in analyze_records(encode(rows), MIME_TYPE).quality.stream_flags
    rows = _stream()
    rows["t"][40] = rows["t"][39]  # a time that does not rise
    assert "impossible_timing" in analyze_records(encode(rows), MIME_TYPE).quality.stream_flags


def test_bad_bodies_and_types_are_refused() -> None:
    good = encode(_stream(seconds=3))
    with pytest.raises(NotFaceRecords, match="whole number"):
        analyze_records(good[:-5], MIME_TYPE)
    with pytest.raises(NoFrames):
        analyze_records(b"", MIME_TYPE)
    with pytest.raises(NotFaceRecords, match="emotion"):
        analyze_records(good, MIME_TYPE, emotions=True)
    for wrong in (
        MIME_TYPE.replace("lib=0.10.34", "lib=1.0.0"),
        MIME_TYPE.replace("v=1", "v=2"),
        MIME_TYPE.replace("model=64184e22", "model=00000000"),
        "video/webm",
    ):
        with pytest.raises(NotFaceRecords):
            check_format(wrong)
    assert is_records(MIME_TYPE) and not is_records("video/webm;codecs=vp9")
    broken = bytearray(good)
    broken[4:8] = np.float32(np.nan).tobytes()
    with pytest.raises(NotFaceRecords, match="impossible times"):
        decode(bytes(broken))
