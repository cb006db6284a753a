"""On-device mode's honest fallback in real headless Chromium (issue 22): a browser that cannot
read the face itself is told so and gets the study's choice, never a silent change of mode.

The browser here lacks WebAssembly SIMD the way the recorder sees it: an init script makes
`WebAssembly.validate` refuse the SIMD probe module (and only it), before any of the page's
scripts run. Everything else is real: the server, the worker, the camera (a fake webcam).
- fallback 'server': the panelist is asked again with the server-mode text; no request carries
  a byte of video before they agree to it, and after it the session records video as usual.
- declining it, or fallback 'exit': the polite exit, status no_camera, nothing recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from candor.ondevice import Fallback
from candor.statuses import ClipStatus, SessionStatus
from tests.recorder.helpers import (
    Fielded,
    LiveCandor,
    clips_of,
    consent_decisions,
    panel_session,
    pass_preflight,
    recorder_url,
    recorder_value,
    wait_analysed,
    wait_for,
)
from tests.recorder.test_browser_ondevice import make_on_device
from web.clips.models import AdAggregate, ConsentRecord
from web.studies.consent_defaults import default_consent
from web.studies.integrations import consent_sha256
from web.studies.models import ConsentText, Integration, Study

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Chromium without WebAssembly SIMD, as far as the recorder's probe can tell (analyser.js
# SIMD_PROBE is the one module with a v128 opcode it validates); every other module validates.
NO_SIMD = """
(() => {
  const validate = WebAssembly.validate.bind(WebAssembly);
  WebAssembly.validate = (bytes) => {
    const b = new Uint8Array(bytes.buffer ? bytes.buffer : bytes);
    for (let i = 0; i + 1 < b.length; i += 1) if (b[i] === 0xfd && b[i + 1] === 0x0f) return false;
    return validate(bytes);
  };
})();
"""
# Every request the page makes, in order, with its type and body size.
REQUESTS = """
(() => {
  window.__requests = [];
  const realFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const request = new Request(input, init);
    const body = ["GET", "HEAD"].includes(request.method)
      ? new Uint8Array(0) : new Uint8Array(await request.clone().arrayBuffer());
    window.__requests.push({ url: request.url, method: request.method, bytes: body.length,
      text: body.length < 4096 ? new TextDecoder().decode(body) : "" });
    return realFetch(input, init);
  };
})();
"""


def fallback_study(live: LiveCandor, fielded: Fielded, fallback: Fallback) -> None:
    """An on-device study with `fallback`, and the default server-mode fallback texts."""
    make_on_device(live, fielded)
    with live.session() as session:
        integration = session.get(Integration, fielded.integration_id)
        assert integration is not None
        study = session.get(Study, integration.study_id)
        assert study is not None
        study.on_device_fallback = fallback
        for locale in ("en", "fr"):
            variant = default_consent(
                locale, organisation="Candor tests", contact="t@example.org", fallback=True
            )
            session.add(
                ConsentText(
                    integration_id=integration.id,
                    locale=locale,
                    version=9,
                    consent_text=variant.consent_text,
                    instructions=variant.instructions,
                    sha256=consent_sha256(variant.consent_text),
                    fallback=True,
                )
            )
        session.commit()


def open_without_simd(launch: Callable[..., Any], url: str) -> tuple[Any, list[str]]:
    browser = launch()
    page = browser.new_context(viewport={"width": 900, "height": 760}).new_page()
    page.add_init_script(NO_SIMD)
    page.add_init_script(REQUESTS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.get_by_role("button", name="I agree").click()
    page.get_by_role("button", name="Turn on my camera").click()
    page.get_by_role("button", name="Check").click()
    return page, errors


def chunk_puts(page: Any) -> list[dict[str, Any]]:
    return [
        r
        for r in page.evaluate("window.__requests")
        if r["method"] == "PUT" and "/chunks/" in r["url"]
    ]


def test_server_fallback_asks_again_and_records_video_only_after_agreeing(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
) -> None:
    fielded = fielded_study((3.0,))
    fallback_study(live_candor, fielded, Fallback.SERVER)
    page, errors = open_without_simd(launch, recorder_url(live_candor, fielded))

    agree = page.get_by_role("button", name="I agree to send my video")
    agree.wait_for(timeout=30000)
    assert recorder_value(page, "[r.state, r.onDeviceFailure]") == ["fallback", "no_simd"]
    assert page.get_by_text("Your browser cannot read your face on this device").is_visible()
    assert page.get_by_role("button", name="No thanks, continue without camera").is_visible()
    # Asked, not yet answered: the camera is off and nothing was sent but JSON.
    assert recorder_value(page, "r.previewStream") is None
    before = page.evaluate("window.__requests")
    assert all(r["bytes"] < 4096 for r in before) and not chunk_puts(page)
    session = panel_session(live_candor, fielded)
    assert session.on_device is True

    agree.click()
    page.get_by_role("button", name="Turn on my camera").click()
    pass_preflight(page)
    page.get_by_role("heading", name="Thank you").wait_for(timeout=90000)
    assert recorder_value(page, "r.status") == "complete"

    session = panel_session(live_candor, fielded)
    assert session.status == SessionStatus.COMPLETE and session.on_device is False
    assert consent_decisions(live_candor, session.id) == ["agree", "agree"]
    with live_candor.session() as db:
        texts = db.scalars(
            select(ConsentText)
            .join(ConsentRecord, ConsentRecord.consent_text_id == ConsentText.id)
            .where(ConsentRecord.session_id == session.id)
            .order_by(ConsentRecord.id)
        ).all()
    assert [(t.on_device, t.fallback) for t in texts] == [(True, False), (False, True)]
    clips = clips_of(live_candor, session.id)
    assert clips and all(clip.mime_type.startswith("video/") for clip in clips)
    # The order of what was sent: the agreement to the server text comes before any chunk.
    sent = page.evaluate("window.__requests")
    consents = [i for i, r in enumerate(sent) if r["url"].endswith("/consent")]
    assert len(consents) == 2
    assert json.loads(sent[consents[1]]["text"])["consent_text_id"] == texts[1].id
    first_chunk = min(i for i, r in enumerate(sent) if "/chunks/" in r["url"])
    assert consents[1] < first_chunk
    assert errors == []
    # Analysed on the server like any video, and not pooled into the on-device study's curves.
    for clip in wait_analysed(live_candor, session.id, expected=1):
        assert clip.status == ClipStatus.DONE, clip.failure_reason
        # Usable (a face read throughout), so only the mode keeps it out of the aggregates.
        assert clip.usable is True, clip.exclusion_reason
        assert clip.aggregated is False
    with live_candor.session() as db:
        assert db.scalar(select(func.count()).where(AdAggregate.ad_id == clips[0].ad_id)) == 0


def test_declining_the_server_text_is_the_polite_exit(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
) -> None:
    fielded = fielded_study((3.0,))
    fallback_study(live_candor, fielded, Fallback.SERVER)
    page, errors = open_without_simd(launch, recorder_url(live_candor, fielded))
    page.get_by_role("button", name="No thanks, continue without camera").click(timeout=30000)
    page.get_by_role("heading", name="This browser cannot read your face on this device").wait_for()
    puts = chunk_puts(page)
    page.get_by_role("button", name="Continue without camera").click()
    wait_for(
        lambda: panel_session(live_candor, fielded).status == SessionStatus.NO_CAMERA,
        30,
        "status no_camera",
    )
    session = panel_session(live_candor, fielded)
    assert session.on_device is True
    assert consent_decisions(live_candor, session.id) == ["agree", "decline"]
    assert clips_of(live_candor, session.id) == [] and not puts
    assert errors == []


def test_exit_fallback_never_asks_to_send_video(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
) -> None:
    fielded = fielded_study((3.0,))
    fallback_study(live_candor, fielded, Fallback.EXIT)
    page, errors = open_without_simd(launch, recorder_url(live_candor, fielded))
    page.get_by_role("heading", name="This browser cannot read your face on this device").wait_for(
        timeout=30000
    )
    assert page.get_by_role("button", name="I agree to send my video").count() == 0
    assert page.get_by_role("button", name="Try again").count() == 0
    puts = chunk_puts(page)
    page.get_by_role("button", name="Continue without camera").click()
    wait_for(
        lambda: panel_session(live_candor, fielded).status == SessionStatus.NO_CAMERA,
        30,
        "status no_camera",
    )
    session = panel_session(live_candor, fielded)
    assert consent_decisions(live_candor, session.id) == ["agree"]
    assert clips_of(live_candor, session.id) == [] and not puts
    assert errors == []


# A machine too slow for the rate: the face reader's worker runs for real, and the cost per
# frame it reports to the page is multiplied by 40, so the page's own decision is what is tested.
# (DevTools' CPU throttling at 40x, tried first, gave no verdict within two minutes here: it
# slowed the page itself to a standstill rather than the worker's model.)
SLOW = """
(() => {
  const RealWorker = window.Worker;
  window.Worker = class SlowWorker extends RealWorker {
    set onmessage(handler) {
      super.onmessage = (event) => {
        const data = event.data;
        handler(data && data.type === "record" ? { data: { ...data, ms: data.ms * 40 } } : event);
      };
    }
    get onmessage() { return super.onmessage; }
  };
})();
"""


def test_a_machine_too_slow_in_the_preflight_gets_the_fallback_too(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
) -> None:
    fielded = fielded_study((3.0,))
    fallback_study(live_candor, fielded, Fallback.SERVER)
    page = launch().new_context(viewport={"width": 900, "height": 760}).new_page()
    page.add_init_script(SLOW)
    page.goto(recorder_url(live_candor, fielded))
    page.get_by_role("button", name="I agree").click()
    page.get_by_role("button", name="Turn on my camera").click()
    page.get_by_role("button", name="Check").click()
    page.get_by_role("button", name="I agree to send my video").wait_for(timeout=60000)
    failure = recorder_value(page, "[r.state, r.onDeviceFailure, r.onDeviceMessage]")
    assert failure[:2] == ["fallback", "too_slow"], failure
    assert failure[2].endswith("ms a frame") and int(failure[2].split()[0]) > 100
    assert recorder_value(page, "r.analyser.worker") is None, "the face reader was closed"
    assert panel_session(live_candor, fielded).on_device is True
