"""Every way a withdrawal leaves a real Chromium arrives (PRODUCT.md: "a withdrawal always
arrives"), or the panelist is told in plain words how to erase without it:

- the server answers 5xx: kept, and sent again by the page as soon as the server answers;
- the tab closes while it is still unsent: the page's last request is the withdrawal (pagehide
  beacon, else a keepalive fetch);
- made offline, then the tab is closed for good: the service worker (withdraw-sw.js) sends it on
  the browser's Background Sync event once the network is back, with no page of Candor's open;
- where the browser cannot promise that (service workers blocked here), the screen says so, and
  the receipt code it shows erases everything through the erasure page's API.

`pytest -s` prints what was measured."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from candor.statuses import DeletionReason, SessionStatus
from tests.recorder.helpers import (
    Fielded,
    HostServer,
    LiveCandor,
    panel_session,
    recorder_url,
    recorder_value,
    wait_for,
)
from tests.recorder.test_browser_recovery import screen_text, start_recording
from tests.recorder.test_browser_withdraw_offline import (
    assert_withdrawn,
    kept_withdrawals,
    withdraw_offline,
)
from web.clips.models import Clip, DeletionAudit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WORKER_SCOPE = "/recorder/withdrawals/"
BACKGROUND = "even if you close this page"
NO_BACKGROUND = "cannot send it after you close this page"


REGISTRATIONS = """async () => (await navigator.serviceWorker.getRegistrations()).map(
  (r) => ({ scope: r.scope, active: Boolean(r.active) }))"""


def test_offline_withdrawal_in_a_tab_closed_for_good_arrives_by_background_sync(
    launch: Callable[..., Any], live_candor: LiveCandor, fielded_study: Callable[..., Fielded]
) -> None:
    fielded = fielded_study(durations=(8.0,))
    context = launch().new_context()
    page = context.new_page()
    clip_id = withdraw_offline(page, context, live_candor, fielded)
    wait_for(lambda: recorder_value(page, "r.backgroundSync") is not None, 15, "the sync answer")
    assert recorder_value(page, "r.backgroundSync") is True, "Chromium offers Background Sync"
    page.get_by_text(BACKGROUND).wait_for(timeout=5000)
    assert recorder_value(page, "r.receiptCode") in screen_text(page)
    page.close()
    assert panel_session(live_candor, fielded).status == SessionStatus.CONSENTED
    # No page of this origin is open any more, and none loads the recorder again: only the
    # service worker can send it, when the browser sees the network back (its sync event).
    assert context.pages == []
    back = time.monotonic()
    context.set_offline(False)
    wait_for(
        lambda: panel_session(live_candor, fielded).status == SessionStatus.WITHDRAWN,
        60,
        "the service worker to send the withdrawal",
    )
    print(f"\nbackground sync, tab closed: arrived {time.monotonic() - back:.2f} s after online")
    assert_withdrawn(live_candor, fielded, clip_id)
    other = context.new_page()  # a page of Candor's origin with no recorder, to look inside
    other.goto(f"{live_candor.base_url}/healthz")
    scopes = other.evaluate(REGISTRATIONS)
    assert scopes == [{"scope": f"{live_candor.base_url}{WORKER_SCOPE}", "active": True}]
    wait_for(lambda: kept_withdrawals(other) == 0, 10, "the kept withdrawal to be dropped")
    context.close()


def test_where_nothing_can_send_it_after_the_tab_closes_the_screen_says_so_and_the_code_erases(
    launch: Callable[..., Any], live_candor: LiveCandor, fielded_study: Callable[..., Fielded]
) -> None:
    fielded = fielded_study(durations=(8.0,))
    context = launch().new_context(service_workers="block")
    page = context.new_page()
    clip_id = withdraw_offline(page, context, live_candor, fielded)
    wait_for(lambda: recorder_value(page, "r.backgroundSync") is not None, 15, "the sync answer")
    assert recorder_value(page, "r.backgroundSync") is False
    page.get_by_text(NO_BACKGROUND).wait_for(timeout=5000)
    receipt = str(recorder_value(page, "r.receiptCode"))
    assert receipt and receipt in screen_text(page)
    erase = page.locator("#candor-recorder [data-action=erase]")
    href = erase.get_attribute("href")
    assert href and href.split("?")[0] == f"{live_candor.base_url}/erase", href
    assert "/erase" in screen_text(page), "the address is written out, not only linked"
    page.close()
    context.set_offline(False)
    # The panelist, later, on any device: the code has everything erased.
    answer = context.request.post(
        f"{live_candor.base_url}/api/v1/panel/erase", data={"receipt_code": receipt}
    )
    assert answer.status == 200, answer.text()
    session = panel_session(live_candor, fielded)
    assert session.status == SessionStatus.WITHDRAWN
    assert session.erased_by_receipt
    with live_candor.session() as db:
        assert db.get(Clip, clip_id) is None
        reasons = db.scalars(select(DeletionAudit.reason).where(DeletionAudit.clip_id == clip_id))
        assert list(reasons) == [DeletionReason.ERASED]
    context.close()


def test_a_withdrawal_the_server_answers_with_5xx_is_sent_again_until_it_arrives(
    launch: Callable[..., Any], live_candor: LiveCandor, fielded_study: Callable[..., Fielded]
) -> None:
    fielded = fielded_study(durations=(8.0,))
    # No service worker: the page alone must deliver it.
    context = launch().new_context(service_workers="block")
    page = context.new_page()
    refused: list[str] = []

    def server_error(route: Any) -> None:
        if len(refused) < 2:
            refused.append(route.request.url)
            route.fulfill(status=503, content_type="application/json", body='{"detail": "down"}')
        else:
            route.continue_()

    page.route("**/api/v1/panel/sessions/*/withdraw", server_error)
    start_recording(page, recorder_url(live_candor, fielded))
    wait_for(lambda: recorder_value(page, "r.progress.chunksAcked") >= 2, 15, "two chunks")
    pressed = time.monotonic()
    page.get_by_role("button", name="Stop and delete my recording").click()
    page.get_by_role("heading", name="Recording deleted").wait_for(timeout=30000)
    # Polled through the driver: the route answers only while it is called into.
    page.wait_for_function(
        "() => document.querySelector('#candor-recorder').candorRecorder"
        ".pendingWithdrawal === null",
        timeout=30000,
    )
    assert panel_session(live_candor, fielded).status == SessionStatus.WITHDRAWN
    print(f"\n5xx twice: withdrawal arrived {time.monotonic() - pressed:.2f} s after the click")
    assert len(refused) == 2
    page.get_by_text("everything recorded has been deleted").wait_for(timeout=10000)
    assert kept_withdrawals(page) == 0
    context.close()


def test_a_withdrawal_still_unsent_as_the_tab_closes_goes_in_its_last_beacon(
    launch: Callable[..., Any], live_candor: LiveCandor, fielded_study: Callable[..., Fielded]
) -> None:
    fielded = fielded_study(durations=(8.0,))
    context = launch().new_context(service_workers="block")
    page = context.new_page()
    # The withdraw call itself never gets through (a proxy refusing it); the beacon is another
    # request (POST …/presence), as a real failing path would differ.
    page.route(
        "**/api/v1/panel/sessions/*/withdraw",
        lambda route: route.fulfill(status=502, content_type="text/plain", body="bad gateway"),
    )
    start_recording(page, recorder_url(live_candor, fielded))
    wait_for(lambda: recorder_value(page, "r.progress.chunksAcked") >= 2, 15, "two chunks")
    page.get_by_role("button", name="Stop and delete my recording").click()
    page.get_by_role("heading", name="Recording deleted").wait_for(timeout=30000)
    assert recorder_value(page, "r.pendingWithdrawal !== null") is True
    assert panel_session(live_candor, fielded).status == SessionStatus.CONSENTED
    closed = time.monotonic()
    page.close(run_before_unload=True)
    wait_for(
        lambda: panel_session(live_candor, fielded).status == SessionStatus.WITHDRAWN,
        30,
        "the pagehide beacon to arrive",
    )
    print(f"\ntab closed: withdrawal beacon arrived {time.monotonic() - closed:.2f} s after")
    context.close()


def test_in_a_survey_iframe_on_another_site_the_screen_promises_only_what_the_browser_does(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    """A third-party iframe (the survey on localhost, Candor on 127.0.0.1: another site): the
    browser may partition or refuse the service worker there. Whatever it answers, the screen
    says what is true, and a promise made is kept after the survey tab is closed."""
    fielded = fielded_study(durations=(8.0,))
    src = recorder_url(live_candor, fielded)
    host_server.pages["/withdraw-survey"] = (
        "<!doctype html><title>Survey</title>"
        f'<iframe id="candor" src="{src}" allow="camera; autoplay" '
        'style="width:900px;height:720px;border:0"></iframe>'
    )
    context = launch().new_context(viewport={"width": 960, "height": 900})
    page = context.new_page()
    page.goto(f"{host_server.base_url}/withdraw-survey")
    ui = page.frame_locator("#candor")
    ui.get_by_role("button", name="I agree").click()
    ui.get_by_role("button", name="Turn on my camera").click()
    ui.get_by_role("button", name="Check").click()
    ui.get_by_role("button", name="Start").click(timeout=15000)
    frame = next(f for f in page.frames if f.url.startswith(live_candor.base_url))
    wait_for(lambda: recorder_value(frame, "r.progress.chunksAcked") >= 2, 20, "two chunks")
    context.set_offline(True)
    ui.get_by_role("button", name="Stop and delete my recording").click()
    ui.get_by_role("heading", name="Recording deleted").wait_for(timeout=30000)
    wait_for(lambda: recorder_value(frame, "r.backgroundSync") is not None, 15, "the sync answer")
    promised = recorder_value(frame, "r.backgroundSync")
    text = str(ui.locator(".cr-screen").inner_text())
    receipt = str(recorder_value(frame, "r.receiptCode"))
    assert receipt in text and "/erase" in text
    print(f"\nthird-party iframe: Background Sync promised = {promised}")
    if promised:
        assert BACKGROUND in text, text
    else:
        assert NO_BACKGROUND in text, text
    page.close()
    assert panel_session(live_candor, fielded).status == SessionStatus.CONSENTED
    context.set_offline(False)
    if promised:
        wait_for(
            lambda: panel_session(live_candor, fielded).status == SessionStatus.WITHDRAWN,
            60,
            "the partitioned service worker to send the withdrawal",
        )
    else:  # the panelist uses the code, as the screen told them
        answer = context.request.post(
            f"{live_candor.base_url}/api/v1/panel/erase", data={"receipt_code": receipt}
        )
        assert answer.status == 200, answer.text()
        assert panel_session(live_candor, fielded).status == SessionStatus.WITHDRAWN
    context.close()


def test_a_panelist_who_declines_gets_no_service_worker(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    # The worker exists to deliver a withdrawal; one who declines has nothing to withdraw, so
    # nothing is installed in their browser (it is registered once the panelist agrees).
    fielded = fielded_study()
    context = launch().new_context()
    page = context.new_page()
    page.goto(recorder_url(live_candor, fielded))
    page.get_by_role("button", name="No thanks").click()
    page.get_by_role("button", name="Continue").click()
    wait_for(
        lambda: panel_session(live_candor, fielded).status == SessionStatus.DECLINED,
        15,
        "the refusal",
    )
    other = context.new_page()
    other.goto(f"{live_candor.base_url}/healthz")
    assert other.evaluate(REGISTRATIONS) == []
