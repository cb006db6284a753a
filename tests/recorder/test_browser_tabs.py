"""One tab owns a respondent's session, in real Chromium (Web Locks, issue 20): a second tab
with the same respondent id says the recording is open in another tab and sends nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from tests.recorder.helpers import Fielded, LiveCandor, recorder_url
from web.clips.models import PanelSession

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def sessions(live: LiveCandor, fielded: Fielded) -> list[str]:
    with live.session() as db:
        rows = db.scalars(
            select(PanelSession)
            .where(PanelSession.integration_id == fielded.integration_id)
            .order_by(PanelSession.id)
        ).all()
        return [row.status.value for row in rows]


def test_a_second_tab_is_told_the_recording_is_open_elsewhere(
    launch: Callable[..., Any], live_candor: LiveCandor, fielded_study: Callable[..., Fielded]
) -> None:
    fielded = fielded_study(durations=(2.0,))
    context = launch().new_context()
    first = context.new_page()
    first.goto(recorder_url(live_candor, fielded))
    # The consent screen says no video is stored on this device (it goes with the page).
    note = first.locator("[data-note=storage]").inner_text()
    assert "never stored on this device" in note and "goes with it" in note, note
    first.get_by_role("button", name="I agree").click()
    first.get_by_role("button", name="Turn on my camera").wait_for()
    assert sessions(live_candor, fielded) == ["consented"]

    second = context.new_page()
    requests: list[str] = []
    second.on("request", lambda r: requests.append(r.url) if "/api/v1/panel/" in r.url else None)
    second.goto(recorder_url(live_candor, fielded))
    second.get_by_role("heading", name="This recording is open in another tab").wait_for()
    assert requests == [], "the second tab neither resumes nor ends the session"
    assert sessions(live_candor, fielded) == ["consented"]

    # The first tab closes: the browser frees its lock, and a reload of the second resumes.
    first.close()
    second.reload()
    second.get_by_role("button", name="I agree").wait_for()
    assert sessions(live_candor, fielded) == ["consented"], "the same session, resumed"
    context.close()
