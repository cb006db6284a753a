"""The recorder in real headless Chromium against a running Candor with a real worker:
the whole flow, declining, and a denied camera."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from candor.statuses import ClipStatus, SessionStatus
from tests.recorder.conftest import SECRET
from tests.recorder.helpers import (
    CAMERA_PROBE,
    LIVE_TRACKS,
    Fielded,
    HostServer,
    LiveCandor,
    clips_of,
    consent_decisions,
    count_rows,
    decline_reasons,
    panel_session,
    recorder_url,
    recorder_value,
    video_files,
    wait_analysed,
)
from web.clips.models import ClipSecond, DeletionAudit
from web.settings import Settings
from web.studies.signing import preview_token

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def returned_query(page: Any, host: HostServer) -> dict[str, list[str]]:
    page.wait_for_url(f"{host.base_url}/return?*")
    return parse_qs(urlsplit(page.url).query, keep_blank_values=True)


def test_consent_preflight_two_ads_complete(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
    tmp_path: Path,
) -> None:
    fielded = fielded_study()
    page = launch().new_page(viewport={"width": 900, "height": 760})
    page.add_init_script(CAMERA_PROBE)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(recorder_url(live_candor, fielded))

    agree = page.get_by_role("button", name="I agree")
    agree.wait_for()
    assert page.get_by_text("I agree to be filmed.").is_visible()
    decline_box = page.get_by_role("button", name="No thanks").bounding_box()
    agree_box = agree.bounding_box()
    assert agree_box and decline_box
    assert abs(agree_box["width"] - decline_box["width"]) < 2, "agree and decline equally big"
    assert abs(agree_box["height"] - decline_box["height"]) < 2
    page.screenshot(path=str(tmp_path / "consent.png"))
    assert page.evaluate("window.__camera.calls") == 0, "no camera before consent"

    agree.click()
    camera_button = page.get_by_role("button", name="Turn on my camera")
    camera_button.wait_for()
    assert page.evaluate("window.__camera.calls") == 0, "agreeing alone does not touch it"
    camera_button.click()
    page.get_by_role("button", name="Check").click()
    start = page.get_by_role("button", name="Start")
    start.wait_for(timeout=15000)
    assert page.evaluate(LIVE_TRACKS) == 0, "camera off after the preflight"
    start.click()
    page.locator(".cr-rec").wait_for(timeout=10000)
    assert page.evaluate(LIVE_TRACKS) == 1, "camera on while the ad is recorded"
    assert recorder_value(page, "r.media.ad.controls") is False
    page.get_by_role("heading", name="Thank you").wait_for(timeout=45000)
    assert page.evaluate(LIVE_TRACKS) == 0, "camera off at the end"
    receipt = page.locator("[data-receipt]").inner_text()
    assert len(receipt) >= 4
    progress = recorder_value(page, "r.progress")
    assert progress["chunksAcked"] == progress["chunksTotal"] > 0
    assert progress["clipsFinished"] == 2
    assert page.evaluate("window.__camera.calls") == 3, "the preview, then one stream per ad"

    session = panel_session(live_candor, fielded)
    assert session.status == SessionStatus.COMPLETE
    clips = clips_of(live_candor, session.id)
    assert sorted(c.ad_id for c in clips) == sorted(fielded.ad_ids)
    assert sum(c.expected_chunks or 0 for c in clips) == progress["chunksTotal"]
    for clip in clips:
        assert clip.chunks_received == clip.expected_chunks, "every chunk arrived"
        assert clip.mime_type.startswith("video/webm")

    page.get_by_role("link", name="Continue the survey").click()
    assert returned_query(page, host_server) == {
        "rid": ["R_42"],
        "status": ["complete"],
        "receipt": [receipt],
    }

    for clip in wait_analysed(live_candor, session.id, expected=2):
        assert clip.status == ClipStatus.DONE, clip.failure_reason
        assert count_rows(live_candor, ClipSecond, clip.id), f"curves of clip {clip.id}"
        assert count_rows(live_candor, DeletionAudit, clip.id), f"deletion audit of {clip.id}"
    assert video_files(live_candor) == [], "no video remains on disk"
    assert errors == []


def test_decline_asks_one_optional_question_then_returns_without_touching_the_camera(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    fielded = fielded_study()
    page = launch().new_page()
    page.add_init_script(CAMERA_PROBE)
    page.goto(recorder_url(live_candor, fielded, rid="R 7/é"))
    page.get_by_role("button", name="No thanks").click()
    page.get_by_role("heading", name="One optional question").wait_for()
    # Skipping the question is as easy and as visible as answering it.
    reason = page.get_by_role("button", name="Privacy").bounding_box()
    go_on = page.get_by_role("button", name="Continue").bounding_box()
    assert reason and go_on and go_on["height"] == reason["height"]
    assert page.get_by_role("button", name="Continue").evaluate(
        "b => getComputedStyle(b).backgroundColor"
    ) == page.get_by_role("button", name="Privacy").evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )
    page.get_by_role("button", name="Continue").click()
    assert returned_query(page, host_server) == {
        "rid": ["R 7/é"],
        "status": ["declined"],
        "receipt": [""],
    }
    session = panel_session(live_candor, fielded)
    assert session.status == SessionStatus.DECLINED
    assert consent_decisions(live_candor, session.id) == ["decline"]
    assert decline_reasons(live_candor, session.id) == [None]
    assert clips_of(live_candor, session.id) == []


def test_a_tapped_decline_reason_is_stored(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    fielded = fielded_study()
    page = launch().new_page()
    page.goto(recorder_url(live_candor, fielded, locale="fr"))
    page.get_by_role("button", name="Non merci").click()
    page.get_by_role("button", name="Vie privée").click()
    assert returned_query(page, host_server)["status"] == ["declined"]
    session = panel_session(live_candor, fielded)
    assert decline_reasons(live_candor, session.id) == ["privacy"]


def test_the_preview_link_marks_the_session_and_says_it_is_not_counted(
    launch: Callable[..., Any], live_candor: LiveCandor, fielded_study: Callable[..., Fielded]
) -> None:
    fielded = fielded_study()
    page = launch().new_page()
    page.goto(
        recorder_url(
            live_candor,
            fielded,
            rid="preview-0a1b2c3d4e5f",
            preview="1",
            preview_token=preview_token(Settings(secret_key=SECRET), fielded.public_key),
        )
    )
    page.get_by_role("button", name="I agree").wait_for()
    assert page.get_by_text("Preview — not counted in results").is_visible()
    assert panel_session(live_candor, fielded).is_preview is True


def test_a_preview_run_ends_on_a_screen_saying_where_a_panelist_would_go(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    fielded = fielded_study()
    page = launch().new_page()
    url = recorder_url(
        live_candor,
        fielded,
        rid="preview-0a1b2c3d4e5f",
        preview="1",
        preview_token=preview_token(Settings(secret_key=SECRET), fielded.public_key),
    )
    page.goto(url)
    page.get_by_role("button", name="No thanks").click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="No problem").wait_for()
    end = page.locator("[data-preview-end=declined]")
    end.wait_for()
    assert "a panelist would now go back to the survey" in end.inner_text()
    assert f"{host_server.base_url}/return?" in end.inner_text()
    page.wait_for_timeout(500)  # a navigation would have started by now
    assert page.url == url, "the live survey was not opened"


def test_camera_denied_explains_and_continues_as_no_camera(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    fielded = fielded_study()
    context = launch(camera=False).new_context()  # nobody answers the prompt: it is refused
    page = context.new_page()
    page.goto(recorder_url(live_candor, fielded))
    page.get_by_role("button", name="I agree").click()
    page.get_by_role("button", name="Turn on my camera").click()
    page.get_by_role("heading", name="Camera access was blocked").wait_for(timeout=15000)
    assert page.get_by_text("allow the camera for this site").is_visible()
    assert recorder_value(page, "r.cameraError") == "denied"
    page.get_by_role("button", name="Try again").click()
    page.get_by_role("heading", name="Camera access was blocked").wait_for()
    page.get_by_role("button", name="Continue without camera").click()
    query = returned_query(page, host_server)
    assert query["status"] == ["no_camera"]
    assert query["rid"] == ["R_42"]
    assert panel_session(live_candor, fielded).status == SessionStatus.NO_CAMERA
