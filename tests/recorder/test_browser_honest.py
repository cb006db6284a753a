"""Panelist dead ends and honest endings in real Chromium (issue 20 item 5, issue 24 items 1-3):
a study not ready to field closes politely with Continue (the designer's preview says why); a
script tag with no return URL tells its page like an iframe does and leaves the survey's own
button working; the footer's words follow what is held; the receipt code stays on one line on a
phone; an ad cut off by a reload comes again once, and a session with no usable clip returns
`incomplete`, told to the panelist as well."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from candor.statuses import SessionStatus
from tests.recorder.conftest import SECRET
from tests.recorder.helpers import (
    CAMERA_PROBE,
    Fielded,
    HostServer,
    LiveCandor,
    clips_of,
    panel_session,
    pass_preflight,
    recorder_url,
    recorder_value,
    wait_for,
)
from web.clips.models import DeletionAudit, PanelSession
from web.settings import Settings
from web.studies.models import Integration, Study
from web.studies.signing import preview_token

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FOOTER = "#candor-recorder .cr-withdraw"


def footer(page: Any) -> str:
    return str(page.locator(FOOTER).inner_text())


def screen(page: Any) -> str:
    return str(page.locator("#candor-recorder .cr-screen").inner_text())


def test_a_study_whose_consent_text_lacks_the_emotion_disclosure_closes_politely(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    fielded = fielded_study(durations=(3.0,))
    with live_candor.session() as session:
        integration = session.get(Integration, fielded.integration_id)
        assert integration is not None
        study = session.get(Study, integration.study_id)
        assert study is not None
        study.emotion_mode = True  # its consent texts do not say so
        session.commit()
    page = launch().new_page()
    page.add_init_script(CAMERA_PROBE)
    page.goto(recorder_url(live_candor, fielded, rid="R_31"))
    page.get_by_role("heading", name="This study is closed").wait_for()
    text = screen(page)
    assert "Something went wrong" not in text and "infers emotions" not in text
    assert page.evaluate("window.__camera.calls") == 0
    page.get_by_role("link", name="Continue the survey").click()
    page.wait_for_url(f"{host_server.base_url}/return?*")
    assert parse_qs(urlsplit(page.url).query)["status"] == ["closed"]

    # The designer's preview shows the same screen, and the real reason.
    preview = launch().new_page()
    token = preview_token(Settings(secret_key=SECRET), fielded.public_key)
    preview.goto(recorder_url(live_candor, fielded, preview="1", preview_token=token))
    preview.get_by_role("heading", name="This study is closed").wait_for()
    reason = preview.locator("#candor-recorder [data-closed-reason]").inner_text()
    assert "infers emotions" in reason and "consent text" in reason, reason
    with live_candor.session() as session:
        started = session.scalars(
            select(PanelSession).where(PanelSession.integration_id == fielded.integration_id)
        ).all()
        assert started == [], "no session was started"


def test_a_script_tag_with_no_return_url_tells_its_page_and_leaves_next_usable(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    fielded = fielded_study(durations=(3.0,))
    with live_candor.session() as session:
        integration = session.get(Integration, fielded.integration_id)
        assert integration is not None
        integration.return_url_template = ""
        session.commit()
    host_server.pages["/limesurvey-like"] = (
        "<!doctype html><title>Survey</title><script>"
        "window.__messages = []; window.__next = 0;"
        "addEventListener('message', (e) => window.__messages.push("
        "{ origin: e.origin, same: e.source === window, data: e.data }));"
        "</script><h1>Question 4</h1><div id='here'></div>"
        f'<script type="module" src="{live_candor.base_url}/recorder/candor-recorder.js" '
        f'data-integration="{fielded.public_key}" data-respondent-id="R_41" '
        'data-target="#here"></script>'
        "<button id='next' onclick='window.__next += 1'>Next</button>"
    )
    page = launch().new_page()
    page.goto(f"{host_server.base_url}/limesurvey-like")
    page.get_by_role("button", name="No thanks").click()
    page.get_by_role("button", name="Not now").click()
    page.get_by_role("heading", name="No problem").wait_for()
    messages = wait_for(lambda: page.evaluate("window.__messages"), timeout=10, what="a message")
    assert messages == [
        {
            "origin": host_server.base_url,
            "same": True,
            "data": {"type": "candor:return", "status": "declined", "url": None, "receipt": None},
        }
    ]
    text = page.locator("#here .cr-screen").inner_text()
    assert "You can go on with the survey." in text and "close this window" not in text
    page.get_by_role("button", name="Next").click()
    assert page.evaluate("window.__next") == 1, "the survey's own button still works"
    assert page.url == f"{host_server.base_url}/limesurvey-like", "nothing navigated"


def test_the_footer_says_what_it_does_and_the_receipt_fits_a_phone(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
) -> None:
    fielded = fielded_study(durations=(3.0,))
    page = launch().new_page(viewport={"width": 390, "height": 844})
    page.goto(recorder_url(live_candor, fielded, rid="R_51"))
    page.get_by_role("button", name="I agree").click()
    page.get_by_role("heading", name="Your camera").wait_for()
    assert footer(page) == "Withdraw my consent", "nothing is recording yet"
    page.get_by_role("button", name="Turn on my camera").click()
    page.get_by_role("heading", name="Camera check").wait_for()
    assert footer(page) == "Withdraw my consent"
    pass_preflight(page)
    page.locator("#candor-recorder .cr-rec").wait_for(timeout=15000)
    assert footer(page) == "Stop and delete my recording"
    page.get_by_role("heading", name="Thank you").wait_for(timeout=60000)
    assert footer(page) == "Delete my recording", "nothing records any more"

    receipt = page.locator("#candor-recorder [data-receipt]")
    box = receipt.bounding_box()
    line = receipt.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
    fits = receipt.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert fits, "no part of the code is cut off"
    assert receipt.evaluate("el => el.getClientRects().length") == 1
    assert box["height"] < 2 * line, f"one line: {box['height']} px for a {line} px line"

    page.locator(FOOTER).click()
    page.get_by_role("heading", name="Recording deleted").wait_for()
    text = screen(page)
    assert "everything recorded has been deleted" in text
    assert "It shows that you stopped and deleted this recording" in text
    assert "To see at any time what is kept under this code" in text
    assert "to have your data deleted later" not in text.lower()


def test_a_reload_early_in_the_ad_offers_it_again_once_then_returns_incomplete(
    launch: Callable[..., Any],
    live_candor: LiveCandor,
    fielded_study: Callable[..., Fielded],
    host_server: HostServer,
) -> None:
    fielded = fielded_study(durations=(8.0,))
    page = launch().new_context().new_page()
    page.goto(recorder_url(live_candor, fielded, rid="R_61"))
    page.get_by_role("button", name="I agree").click()
    page.get_by_role("button", name="Turn on my camera").click()
    pass_preflight(page)
    acked = "r.progress.chunksAcked"
    wait_for(lambda: recorder_value(page, acked) >= 2, timeout=20, what="two chunks acked")
    page.reload()

    # Offered again from the start, with a word on why.
    page.get_by_role("button", name="I agree").click()
    page.get_by_role("button", name="Turn on my camera").click()
    pass_preflight(page, start="Play")
    assert recorder_value(page, "[...r.restartAds]") == [fielded.ad_ids[0]]
    session = panel_session(live_candor, fielded)

    def restarted() -> bool:
        with live_candor.session() as db:
            reasons = db.scalars(
                select(DeletionAudit.reason).where(DeletionAudit.session_id == session.id)
            ).all()
        return "restarted" in reasons

    wait_for(restarted, timeout=20, what="the first take deleted as the ad starts again")
    wait_for(lambda: recorder_value(page, acked) >= 2, timeout=20, what="the second take")

    # Cut off again: not offered a third time; nothing left to film, so no camera either.
    page.reload()
    page.get_by_role("button", name="I agree").click()
    page.get_by_role("heading", name="Thank you").wait_for(timeout=60000)
    text = screen(page)
    assert "Part of the ad was not recorded" in text and "will probably not count" in text
    assert recorder_value(page, "r.status") == "incomplete"
    page.get_by_role("link", name="Continue the survey").click()
    page.wait_for_url(f"{host_server.base_url}/return?*")
    assert parse_qs(urlsplit(page.url).query)["status"] == ["incomplete"]
    session = panel_session(live_candor, fielded)
    assert session.status == SessionStatus.INCOMPLETE
    assert len(clips_of(live_candor, session.id)) == 1, "one clip for the ad, however often cut"
