"""What the recorder assumes of Chromium's MediaRecorder, checked in the real browser.

The recorder pauses MediaRecorder during a stall and counts clip_ms in recorded time only
(docs/panelist-api.md: clip_ms is the position in the recording). That holds only if a pause
leaves no gap in the recorded file's timeline, which this test checks on the decoded video.
"""

from __future__ import annotations

import base64
import io
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest

from tests.recorder.helpers import HostServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RECORD_WITH_A_PAUSE = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  const types = ["video/webm;codecs=vp9", "video/webm"];
  const type = types.find((t) => MediaRecorder.isTypeSupported(t));
  const recorder = new MediaRecorder(stream, { mimeType: type });
  const parts = [];
  recorder.ondataavailable = (event) => parts.push(event.data);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  recorder.start(1000);
  await sleep(1500);
  recorder.pause();
  await sleep(2500);
  recorder.resume();
  await sleep(1500);
  const stopped = new Promise((resolve) => (recorder.onstop = resolve));
  recorder.stop();
  await stopped;
  stream.getTracks().forEach((track) => track.stop());
  const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}"""


def test_a_paused_recording_has_no_gap_so_clip_ms_is_recorded_time(
    launch: Callable[..., Any], host_server: HostServer
) -> None:
    host_server.pages["/blank"] = "<!doctype html><title>blank</title>"
    page = launch().new_page()
    page.goto(f"{host_server.base_url}/blank")  # localhost: a secure context for the camera
    data = base64.b64decode(page.evaluate(RECORD_WITH_A_PAUSE))
    with av.open(io.BytesIO(data)) as container:
        times = [float(frame.time) for frame in container.decode(video=0)]
    assert len(times) > 20
    # 3 s recorded, 2.5 s paused: the timeline spans the recorded 3 s, not the 5.5 s of wall
    # time (a frame interval and the time to start and stop on either side).
    assert 2.5 < times[-1] - times[0] < 3.5, times[-1] - times[0]
    assert max(b - a for a, b in itertools.pairwise(times)) < 0.5, "no hole at the pause"


RECORD_THEN_CLOSE_THE_TAB = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  const types = ["video/webm;codecs=vp9", "video/webm"];
  const type = types.find((t) => MediaRecorder.isTypeSupported(t));
  const recorder = new MediaRecorder(stream, { mimeType: type });
  const parts = [];
  recorder.ondataavailable = (event) => parts.push(event.data);
  recorder.start(1000);
  await new Promise((resolve) => setTimeout(resolve, 4500));
  // The tab closes here: no stop(), so no final chunk; only the 1 s chunks already handed over.
  const encoded = [];
  for (const part of parts) {
    const bytes = new Uint8Array(await part.arrayBuffer());
    let text = "";
    for (const byte of bytes) text += String.fromCharCode(byte);
    encoded.push(btoa(text));
  }
  return encoded;
}"""


def test_chunks_of_a_recording_never_stopped_are_analysed(
    launch: Callable[..., Any], host_server: HostServer, tmp_path: Path
) -> None:
    """What an idle upload is finished from (docs/pipeline.md, "A closed tab keeps what
    arrived"): the first chunks of a recording that was never stopped decode and analyse."""
    from worker.analysis import analyze

    host_server.pages["/blank"] = "<!doctype html><title>blank</title>"
    page = launch().new_page()
    page.goto(f"{host_server.base_url}/blank")
    parts = [base64.b64decode(part) for part in page.evaluate(RECORD_THEN_CLOSE_THE_TAB)]
    assert len(parts) >= 3
    for kept in (2, len(parts)):
        path = tmp_path / f"first-{kept}.webm"
        path.write_bytes(b"".join(parts[:kept]))
        result = analyze(path)
        last = max(result.frames["t"])
        assert kept - 1.2 < last < kept + 0.2, (kept, last)
        assert result.quality.face_found_share is not None
        assert result.quality.face_found_share > 0.9
