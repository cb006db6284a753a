"""The recorder in real Chromium when things go wrong mid-ad: the network drops, the panelist
withdraws."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from candor.statuses import ClipStatus, SessionStatus
from tests.recorder.helpers import (
    CAMERA_PROBE,
    LIVE_TRACKS,
    Fielded,
    HostServer,
    LiveCandor,
    clips_of,
    panel_session,
    pass_preflight,
    recorder_url,
    recorder_value,
    video_files,
    wait_analysed,
    wait_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def start_recording(page: Any, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="I agree").click()
    page.get_by_role("button", name="Turn on my camera").click()
    pass_preflight(page)
    page.locator(".cr-rec").wait_for(timeout=10000)


def acked(page: Any) -> int:
    return int(recorder_value(page, "r.progress.chunksAcked"))


def test_network_cut_mid_ad_loses_nothing_and_sends_nothing_twice(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    fielded = fielded_study(durations=(9.0, 2.0))
    context = launch().new_context()
    page = context.new_page()
    answers: dict[str, list[int]] = defaultdict(list)
    failed: list[str] = []

    def on_response(response: Any) -> None:
        if response.request.method == "PUT":
            answers[response.url].append(response.status)

    page.on("response", on_response)
    page.on("requestfailed", lambda request: failed.append(f"{request.method} {request.url}"))
    start_recording(page, recorder_url(live_candor, fielded))
    wait_for(lambda: acked(page) >= 2, timeout=10, what="two chunks acknowledged")

    context.set_offline(True)
    offline_at = acked(page)
    wait_for(
        lambda: recorder_value(page, "r.progress.chunksTotal") > offline_at + 2,
        timeout=15,
        what="chunks recorded offline",
    )
    assert recorder_value(page, "r.state") == "playing", "the ad plays on, offline"
    assert recorder_value(page, "r.recording") is True, "and is still recorded"
    assert recorder_value(page, "r.progress.waiting") is True, "uploads wait for the network"
    assert recorder_value(page, "r.progress.chunksTotal") > offline_at + 2, "chunks queue up"
    assert any("/chunks/" in request for request in failed), "a PUT really failed offline"
    context.set_offline(False)

    page.get_by_role("heading", name="Thank you").wait_for(timeout=60000)
    progress = recorder_value(page, "r.progress")
    assert progress["chunksAcked"] == progress["chunksTotal"]
    # Each chunk was stored by exactly one PUT (201); a replay would have been answered 200.
    assert all(statuses == [201] for statuses in answers.values()), answers
    assert len(answers) == progress["chunksTotal"]

    session = panel_session(live_candor, fielded)
    assert session.status == SessionStatus.COMPLETE
    clips = clips_of(live_candor, session.id)
    assert sum(c.chunks_received for c in clips) == progress["chunksTotal"]
    assert all(c.chunks_received == c.expected_chunks for c in clips)
    for clip in wait_analysed(live_candor, session.id, expected=2):
        assert clip.status == ClipStatus.DONE, clip.failure_reason
    page.get_by_role("link", name="Continue the survey").click()
    page.wait_for_url(f"{host_server.base_url}/return?*")


def test_withdraw_mid_ad_stops_the_camera_at_once_and_erases_everything(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    fielded = fielded_study(durations=(8.0, 2.0))
    page = launch().new_page()
    page.add_init_script(CAMERA_PROBE)
    start_recording(page, recorder_url(live_candor, fielded))
    wait_for(lambda: acked(page) >= 2, timeout=10, what="two chunks acknowledged")
    session = panel_session(live_candor, fielded)
    (clip,) = clips_of(live_candor, session.id)
    mine = [str(clip.public_id)]
    assert video_files(live_candor, mine), "its chunks are on disk"
    assert page.evaluate(LIVE_TRACKS) == 1

    withdraw = page.get_by_role("button", name="Stop and delete my recording")
    assert withdraw.is_visible()
    # Click and read the tracks in the same task: the camera is off before any answer.
    live_after_click = page.evaluate(
        """() => {
          const host = document.querySelector('#candor-recorder');
          host.shadowRoot.querySelector('.cr-withdraw').click();
          return window.__camera.streams.flatMap((s) => s.getTracks())
            .filter((t) => t.readyState === 'live').length;
        }"""
    )
    assert live_after_click == 0
    # The panelist sees that their video is gone, with the code that shows it later, and goes
    # on only when they choose to.
    page.get_by_role("heading", name="Recording deleted").wait_for(timeout=15000)
    screen = page.locator(".cr-screen")
    assert "everything recorded has been deleted" in screen.inner_text()
    assert page.locator("[data-receipt]").inner_text().strip()
    assert page.locator("a[data-action=erase]").inner_text() == f"{live_candor.base_url}/erase"
    page.wait_for_timeout(500)
    assert not page.url.startswith(host_server.base_url), "no return before the click"
    page.get_by_role("link", name="Continue the survey").click()
    page.wait_for_url(f"{host_server.base_url}/return?*", timeout=15000)
    query = parse_qs(urlsplit(page.url).query, keep_blank_values=True)
    assert query["status"] == ["withdrawn"]
    assert query["rid"] == ["R_42"]

    assert panel_session(live_candor, fielded).status == SessionStatus.WITHDRAWN
    assert clips_of(live_candor, session.id) == [], "clips and their chunks erased"
    wait_for(lambda: video_files(live_candor, mine) == [], timeout=15, what="no video on disk")
