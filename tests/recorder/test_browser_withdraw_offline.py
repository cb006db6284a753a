"""A withdrawal made offline in real Chromium (issue 20): kept in IndexedDB, said truthfully,
and sent when the network comes back, or by the next page that loads the recorder after the
tab was closed. Either way the clip is deleted, audited `withdrawn`, no curve kept, and no
video stays in the browser. `pytest -s` prints what was measured."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from candor.statuses import DeletionReason, SessionStatus
from tests.recorder.helpers import (
    Fielded,
    LiveCandor,
    no_video_stored,
    panel_session,
    recorder_url,
    recorder_value,
    wait_for,
)
from tests.recorder.test_browser_recovery import screen_text, start_recording
from web.clips.models import Clip, ClipSecond, DeletionAudit

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def kept_withdrawals(page: Any) -> int:
    """Withdrawals the browser keeps until the server acknowledges them (and no video at all)."""
    return no_video_stored(page).get("withdrawals", {"rows": 0})["rows"]


def withdraw_offline(page: Any, context: Any, live: LiveCandor, fielded: Fielded) -> int:
    """Record a few chunks, go offline, withdraw; returns the clip's row id."""
    start_recording(page, recorder_url(live, fielded))
    wait_for(lambda: recorder_value(page, "r.progress.chunksAcked") >= 2, 15, "two chunks")
    session = panel_session(live, fielded)
    with live.session() as db:
        clip_id = db.scalar(select(Clip.id).where(Clip.session_id == session.id))
    assert clip_id is not None
    recorded = recorder_value(page, "r.progress.chunksTotal")
    context.set_offline(True)
    # A chunk recorded offline, held by the page (awaited, not slept on).
    wait_for(
        lambda: recorder_value(page, "r.progress.chunksTotal") > recorded,
        15,
        "a chunk recorded offline",
    )
    page.get_by_role("button", name="Stop and delete my recording").click()
    page.get_by_role("heading", name="Recording deleted").wait_for(timeout=30000)
    text = screen_text(page)
    assert "as soon as the connection returns" in text, text
    assert recorder_value(page, "r.receiptCode") in text
    assert recorder_value(page, "r.state") == "withdrawn"
    assert kept_withdrawals(page) == 1, "no video kept; the withdrawal kept until it is sent"
    assert panel_session(live, fielded).status == SessionStatus.CONSENTED, "nothing arrived yet"
    return int(clip_id)


def assert_withdrawn(live: LiveCandor, fielded: Fielded, clip_id: int) -> None:
    session = panel_session(live, fielded)
    assert session.status == SessionStatus.WITHDRAWN
    with live.session() as db:
        assert db.get(Clip, clip_id) is None
        reasons = db.scalars(
            select(DeletionAudit.reason).where(DeletionAudit.clip_id == clip_id)
        ).all()
        curves = db.scalars(select(ClipSecond).where(ClipSecond.clip_id == clip_id)).all()
    assert list(reasons) == [DeletionReason.WITHDRAWN]
    assert curves == []


def test_a_withdrawal_made_offline_arrives_when_the_network_returns(
    launch: Callable[..., Any], live_candor: LiveCandor, fielded_study: Callable[..., Fielded]
) -> None:
    fielded = fielded_study(durations=(8.0,))
    context = launch().new_context()
    page = context.new_page()
    clip_id = withdraw_offline(page, context, live_candor, fielded)
    time.sleep(5)
    back = time.monotonic()
    context.set_offline(False)
    wait_for(
        lambda: panel_session(live_candor, fielded).status == SessionStatus.WITHDRAWN,
        30,
        "the withdrawal to arrive",
    )
    arrived = time.monotonic() - back
    page.get_by_text("everything recorded has been deleted").wait_for(timeout=10000)
    assert_withdrawn(live_candor, fielded, clip_id)
    assert kept_withdrawals(page) == 0
    print(f"\nwithdrawn offline 5 s: arrived {arrived:.2f} s after the network came back")
    context.close()


def test_a_withdrawal_made_offline_in_a_closed_tab_is_sent_by_the_next_recorder_page(
    launch: Callable[..., Any], live_candor: LiveCandor, fielded_study: Callable[..., Fielded]
) -> None:
    fielded = fielded_study(durations=(8.0,))
    context = launch().new_context()
    page = context.new_page()
    clip_id = withdraw_offline(page, context, live_candor, fielded)
    page.close()
    context.set_offline(False)
    # Any page of this origin that loads the recorder: here another respondent's link.
    reopened = context.new_page()
    opened = time.monotonic()
    reopened.goto(recorder_url(live_candor, fielded, rid="R_other"))
    reopened.get_by_role("button", name="I agree").wait_for()
    wait_for(
        lambda: panel_session_of(live_candor, fielded, clip_id) == SessionStatus.WITHDRAWN,
        30,
        "the kept withdrawal to arrive",
    )
    print(
        "\nwithdrawn offline, tab closed: arrived "
        f"{time.monotonic() - opened:.2f} s after reopening"
    )
    with live_candor.session() as db:
        assert db.get(Clip, clip_id) is None
        reasons = db.scalars(
            select(DeletionAudit.reason).where(DeletionAudit.clip_id == clip_id)
        ).all()
        assert list(reasons) == [DeletionReason.WITHDRAWN]
        assert db.scalars(select(ClipSecond).where(ClipSecond.clip_id == clip_id)).all() == []
    assert kept_withdrawals(reopened) == 0
    context.close()


def panel_session_of(live: LiveCandor, fielded: Fielded, clip_id: int) -> SessionStatus | None:
    """The status of the first session of this integration (the one that recorded clip_id)."""
    from web.clips.models import PanelSession

    with live.session() as db:
        first = db.scalars(
            select(PanelSession)
            .where(PanelSession.integration_id == fielded.integration_id)
            .order_by(PanelSession.id)
        ).first()
        return first.status if first is not None else None
