"""The recorder in real Chromium when a session is hurt and must recover (issue 11): the server
unreachable while the network is fine, the camera track stopped mid-ad, a long offline spell
and a reload mid-ad. Each test prints what it measured (chunks recorded vs arrived, seconds of
curve vs seconds of ad, the session's status, what the panelist saw); `pytest -s` shows it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from candor.statuses import ClipStatus, SessionStatus
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.recorder.conftest import SECRET
from tests.recorder.helpers import (
    CAMERA_PROBE,
    Fielded,
    LiveCandor,
    browser_storage,
    no_video_stored,
    panel_session,
    recorder_url,
    recorder_value,
    wait_analysed,
    wait_for,
)
from web.clips.idle import finish_idle_clips
from web.clips.models import ClipSecond
from web.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PANEL_API = "**/api/v1/panel/**"


def start_recording(page: Any, url: str, *, retry_delays: str = "[200, 400]") -> None:
    """Through consent and preflight to the first ad; short retries so a wait comes soon."""
    page.goto(url)
    page.get_by_role("button", name="I agree").click()
    page.get_by_role("button", name="Turn on my camera").click()
    page.get_by_role("button", name="Check").click()
    recorder_value(page, f"(r.options.retryDelays = {retry_delays}, true)")
    page.get_by_role("button", name="Start").click(timeout=15000)
    page.locator(".cr-rec").wait_for(timeout=10000)


def curve_seconds(live: LiveCandor, clip_id: int) -> int:
    """Seconds of the ad with a curve value from this clip."""
    with live.session() as session:
        rows = session.scalars(select(ClipSecond).where(ClipSecond.clip_id == clip_id)).all()
        return len(rows)


def acked(page: Any) -> int:
    return int(recorder_value(page, "r.progress.chunksAcked"))


def screen_text(page: Any) -> str:
    return str(page.locator("#candor-recorder .cr-screen").inner_text())


def test_server_unreachable_is_probed_not_waited_out(
    launch: Callable[..., Any], live_candor: LiveCandor, fielded_study: Callable[..., Fielded]
) -> None:
    """Only the server is down: no `online` event will come, so the recorder must ask it."""
    fielded = fielded_study(durations=(8.0,))
    page = launch().new_page()
    probes: list[int] = []  # statuses of the probes the server answered

    def probed(response: Any) -> None:
        if response.url.endswith("/ping"):
            probes.append(response.status)

    page.on("response", probed)
    start_recording(page, recorder_url(live_candor, fielded))
    wait_for(lambda: acked(page) >= 2, timeout=15, what="two chunks acknowledged")

    page.route(PANEL_API, lambda route: route.abort("connectionrefused"))
    wait_for(lambda: recorder_value(page, "r.progress.waiting"), timeout=10, what="uploads wait")
    assert recorder_value(page, "navigator.onLine") is True
    note = page.locator("#candor-recorder .cr-offline")
    assert note.is_visible()
    assert "cannot be reached" in note.inner_text(), "not 'You are offline': the network is fine"
    time.sleep(2.5)
    page.unroute(PANEL_API)
    back = time.monotonic()
    wait_for(
        lambda: not recorder_value(page, "r.progress.waiting"), timeout=20, what="uploads resume"
    )
    resumed_after = time.monotonic() - back
    assert 204 in probes, "the server was probed, not waited out"

    page.get_by_role("heading", name="Thank you").wait_for(timeout=60000)
    progress = recorder_value(page, "r.progress")
    session = panel_session(live_candor, fielded)
    (clip,) = wait_analysed(live_candor, session.id, expected=1)
    print(
        f"\nserver down: {progress['chunksTotal']} chunks recorded, {clip.chunks_received} "
        f"arrived; resumed {resumed_after:.1f} s after the server came back; "
        f"{len(probes)} probes; session {session.status.value}; clip {clip.status.value}"
    )
    assert progress["chunksAcked"] == progress["chunksTotal"] == clip.chunks_received
    assert session.status == SessionStatus.COMPLETE
    assert clip.status == ClipStatus.DONE, clip.failure_reason


def test_camera_track_stopped_mid_ad_is_noticed_and_ends_with_a_receipt(
    launch: Callable[..., Any], live_candor: LiveCandor, fielded_study: Callable[..., Fielded]
) -> None:
    """track.stop() fires no `ended` in Chromium: the recorder must notice it by itself."""
    fielded = fielded_study(durations=(8.0,))
    page = launch().new_page()
    page.add_init_script(CAMERA_PROBE)
    start_recording(page, recorder_url(live_candor, fielded))
    wait_for(lambda: acked(page) >= 2, timeout=15, what="two chunks acknowledged")
    page.evaluate("() => window.__camera.streams.at(-1).getVideoTracks()[0].stop()")

    page.get_by_role("heading", name="The camera stopped").wait_for(timeout=10000)
    assert page.get_by_role("button", name="Try again").is_visible()
    page.get_by_role("button", name="Continue without camera").click()
    page.get_by_role("link", name="Continue the survey").wait_for(timeout=30000)
    text = screen_text(page)
    receipt = page.locator("[data-receipt]")
    print(f"\ncamera stopped, panelist saw: {text!r}")
    assert "press Try again" not in text, "no instruction to press a button that is not there"
    assert receipt.is_visible(), "the receipt: what was recorded is analysed and can be erased"

    session = panel_session(live_candor, fielded)
    assert session.status == SessionStatus.NO_CAMERA
    (clip,) = wait_analysed(live_candor, session.id, expected=1)
    recorded = recorder_value(page, "r.progress.chunksTotal")
    print(
        f"camera stopped: {recorded} chunks recorded, {clip.chunks_received} arrived; "
        f"{clip.duration_s} s of video for an 8 s ad; session {session.status.value}; "
        f"clip {clip.status.value}, usable {clip.usable}, excluded for {clip.exclusion_reason}"
    )
    assert clip.chunks_received == recorded
    # What arrived is analysed, but a third of the ad is not a panelist's view of it.
    assert (clip.usable, clip.exclusion_reason, clip.aggregated) == (False, "incomplete", False)


def held_chunks(page: Any) -> int:
    """Chunks the recorder's page holds in memory, not yet acknowledged by the server."""
    return int(recorder_value(page, "r.store.rows.size"))


def test_reload_mid_ad_resumes_the_session_and_counts_the_respondent_once(
    launch: Callable[..., Any], live_candor: LiveCandor, fielded_study: Callable[..., Fielded]
) -> None:
    """Chunks not yet sent are held by the page only, never in the browser's storage; a reload
    late in the ad (80 % of it recorded and sent) resumes the one session, the take counts, so
    the ad is not offered again (tests/recorder/test_browser_honest.py has the early reload)."""
    fielded = fielded_study(durations=(10.0, 2.0))
    page = launch().new_context().new_page()
    url = recorder_url(live_candor, fielded)
    start_recording(page, url)
    wait_for(lambda: acked(page) >= 2, timeout=15, what="two chunks acknowledged")
    page.route("**/chunks/**", lambda route: route.abort("connectionrefused"))
    wait_for(lambda: held_chunks(page) >= 2, timeout=10, what="unsent chunks held by the page")
    stored = no_video_stored(page)  # while chunks wait to be sent: none of them in storage
    page.unroute("**/chunks/**")
    total = "r.progress.chunksTotal"
    wait_for(lambda: recorder_value(page, total) >= 8, timeout=30, what="80 % of the ad")
    wait_for(lambda: acked(page) >= 8, timeout=30, what="the held chunks sent")
    receipt_before = recorder_value(page, "r.receiptCode")
    recorded_before = recorder_value(page, total)
    page.reload()

    page.get_by_role("button", name="I agree").click()
    page.get_by_role("button", name="Turn on my camera").click()
    page.get_by_role("button", name="Check").click()
    play = page.get_by_role("button", name="Play")
    play.wait_for(timeout=15000)
    assert "Ad 2 of 2" in screen_text(page), "the interrupted ad is not shown again"
    play.click()
    page.get_by_role("heading", name="Thank you").wait_for(timeout=60000)
    receipt_after = page.locator("[data-receipt]").inner_text()

    session = panel_session(live_candor, fielded)  # exactly one session for the respondent
    clips = {c.ad_id: c for c in wait_analysed(live_candor, session.id, expected=2)}
    first = clips[fielded.ad_ids[0]]
    seconds = curve_seconds(live_candor, first.id)
    print(
        f"\nreload: ad 1 {recorded_before} chunks recorded before the reload, "
        f"{first.chunks_received} arrived; {seconds} s of curve for a 10 s ad; session "
        f"{session.status.value}; receipt {receipt_before} -> {receipt_after}; browser storage "
        f"while chunks waited {stored}, at the end {no_video_stored(page)}"
    )
    assert session.status == SessionStatus.COMPLETE
    assert receipt_after == receipt_before, "the receipt shown erases the one session"
    # What the old page had not sent went with it: the clip is what had arrived.
    assert 8 <= first.chunks_received <= recorded_before
    assert all(c.status == ClipStatus.DONE for c in clips.values())


# What a recorder before version 4 of the database left behind: unsent chunks (video) kept in
# IndexedDB for a reload, beside a withdrawal not yet sent.
_LEGACY_STORAGE = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("candor-recorder", 3);
  open.onerror = () => reject(open.error);
  open.onupgradeneeded = () => {
    const db = open.result;
    db.createObjectStore("chunks", { keyPath: ["session", "ad", "index"] })
      .createIndex("savedAt", "savedAt");
    db.createObjectStore("resume", { keyPath: "key" }).createIndex("savedAt", "savedAt");
    db.createObjectStore("withdrawals", { keyPath: "session" }).createIndex("savedAt", "savedAt");
  };
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction(["chunks"], "readwrite");
    const video = new Blob([new Uint8Array(4096)], { type: "video/webm" });
    const row = { session: "old", ad: 1, index: 0, blob: video, mimeType: "video/webm" };
    tx.objectStore("chunks").put({ ...row, savedAt: Date.now() });
    tx.oncomplete = () => { db.close(); resolve(true); };
    tx.onerror = () => reject(tx.error);
  };
})"""


def test_video_an_older_recorder_kept_in_the_browser_is_deleted_by_the_next_page(
    launch: Callable[..., Any], live_candor: LiveCandor, fielded_study: Callable[..., Fielded]
) -> None:
    """Older recorders kept unsent chunks in IndexedDB for up to 15 minutes; the first page of
    this origin that loads the recorder deletes that store, whatever it holds."""
    fielded = fielded_study(durations=(2.0,))
    page = launch().new_context().new_page()
    page.goto(f"{live_candor.base_url}/healthz")  # the same origin, no recorder on it
    page.evaluate(_LEGACY_STORAGE)
    assert browser_storage(page)["chunks"] == {"rows": 1, "media": 1}
    page.goto(recorder_url(live_candor, fielded))
    page.get_by_role("button", name="I agree").wait_for()
    wait_for(lambda: "chunks" not in browser_storage(page), timeout=10, what="the old store gone")
    no_video_stored(page)


def test_a_long_offline_spell_loses_no_chunk_and_the_clip_stays_open(
    launch: Callable[..., Any], live_candor: LiveCandor, fielded_study: Callable[..., Fielded]
) -> None:
    """Offline past upload_idle_seconds: the idle job used to close the clip from the chunks it
    had, and the recorder threw the rest away, ending "complete" with a third of a curve."""
    fielded = fielded_study(durations=(10.0,))
    context = launch().new_context()
    page = context.new_page()
    start_recording(page, recorder_url(live_candor, fielded))
    wait_for(lambda: acked(page) >= 2, timeout=15, what="two chunks acknowledged")
    context.set_offline(True)
    time.sleep(3)
    # The idle job runs while the recorder is offline, its clip idle past upload_idle_seconds.
    settings = Settings(
        environment="test",
        secret_key=SECRET,
        data_dir=live_candor.data_dir,
        database_url=TEST_DATABASE_URL,
        broker_url=TEST_REDIS_URL,
        upload_idle_seconds=1,
    )
    report = finish_idle_clips(
        settings=settings, factory=sessionmaker(live_candor.engine), send=lambda _id: False
    )
    assert report.finished == 0, "the session is alive: its clip stays open"
    time.sleep(2)
    held = recorder_value(page, "r.progress.chunksTotal") - acked(page)
    context.set_offline(False)

    page.get_by_role("heading", name="Thank you").wait_for(timeout=60000)
    progress = recorder_value(page, "r.progress")
    session = panel_session(live_candor, fielded)
    (clip,) = wait_analysed(live_candor, session.id, expected=1)
    seconds = curve_seconds(live_candor, clip.id)
    print(
        f"\nlong offline: {held} chunks held offline; {progress['chunksTotal']} recorded, "
        f"{clip.chunks_received} arrived; {seconds} s of curve for a 10 s ad; session "
        f"{session.status.value}; clip {clip.status.value}, usable {clip.usable} "
        f"({clip.exclusion_reason}); unacknowledged at the end "
        f"{recorder_value(page, 'r.progress.chunksTotal - r.progress.chunksAcked')}"
    )
    assert held >= 3
    assert progress["chunksAcked"] == progress["chunksTotal"] == clip.chunks_received
    assert session.status == SessionStatus.COMPLETE
    assert clip.status == ClipStatus.DONE and not clip.auto_finished
