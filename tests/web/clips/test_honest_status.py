"""The status a session ends with says what the data is (issue 20, item 5): `complete` only when
a clip of the session is usable or promises to be; otherwise `incomplete`, which the survey can
act on. Judged from the playback events of clips not yet analysed (web/clips/coverage.py)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus, PlaybackEventKind, SessionStatus
from tests.support import panel
from tests.support.factories import make_ad, make_integration, make_study
from web.clips.coverage import seen_seconds
from web.clips.models import Clip, PanelSession

API = panel.API
AD_S = 10.0


@pytest.fixture
def started(client: TestClient, db_session: Session) -> panel.Started:
    """A consented panelist of a study with two 10 s ads."""
    study = make_study(db_session)
    make_ad(db_session, study, duration_s=AD_S)
    make_ad(db_session, study, duration_s=AD_S)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    begun = panel.start(client, integration)
    panel.consent(client, begun)
    return begun


def _recorded(
    client: TestClient, started: panel.Started, events: list[dict[str, Any]] | None, ad: int = 0
) -> str:
    """One clip of the ad, two chunks, these playback events, finished by the recorder."""
    clip_id = panel.open_clip(client, started, started.ad_ids[ad])
    panel.upload(client, started, clip_id, [b"\x1a" * 500, b"\x1b" * 500])
    if events is not None:
        answer = client.post(
            f"{API}/clips/{clip_id}/events", headers=started.headers, json={"events": events}
        )
        assert answer.status_code == 200, answer.text
    finished = client.post(
        f"{API}/clips/{clip_id}/finish", headers=started.headers, json={"chunk_count": 2}
    )
    assert finished.status_code == 202, finished.text
    return clip_id


def _end(client: TestClient, started: panel.Started, status: str = "complete") -> Any:
    answer = client.post(
        f"{API}/sessions/{started.session_id}/end", headers=started.headers, json={"status": status}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _stored_status(db_session: Session) -> SessionStatus:
    db_session.expire_all()
    status = db_session.scalar(select(PanelSession.status))
    assert isinstance(status, SessionStatus)
    return status


def ev(seq: int, kind: str, clip_s: float, ad_s: float) -> dict[str, Any]:
    return {"seq": seq, "kind": kind, "clip_ms": clip_s * 1000, "ad_ms": ad_s * 1000}


def test_an_ad_watched_to_the_end_keeps_complete(
    client: TestClient, db_session: Session, started: panel.Started
) -> None:
    _recorded(client, started, panel.playing_events(AD_S * 1000))
    answer = _end(client, started)
    assert answer["status"] == "complete" and answer["receipt_code"]
    assert _stored_status(db_session) == SessionStatus.COMPLETE


def test_a_reload_that_cut_the_only_ad_short_ends_incomplete(
    client: TestClient, db_session: Session, started: panel.Started
) -> None:
    # Recorded 3 s of the ad, then the page reloaded: no event closes the last stretch.
    _recorded(client, started, [ev(0, "start", 0, 0), ev(1, "stall", 3, 3)])
    answer = _end(client, started)
    assert answer["status"] == "incomplete"
    assert answer["receipt_code"], "the receipt is still given: something is held"
    assert _stored_status(db_session) == SessionStatus.INCOMPLETE
    # Asked again (a retried request): the stored status, unchanged.
    assert _end(client, started)["status"] == "incomplete"


def test_a_tab_hidden_for_most_of_the_ad_ends_incomplete(
    client: TestClient, db_session: Session, started: panel.Started
) -> None:
    events = [
        ev(0, "start", 0, 0),
        ev(1, "hidden", 2, 2),
        ev(2, "visible", 9, 9),
        ev(3, "end", 10, 10),
    ]
    _recorded(client, started, events)
    assert _end(client, started)["status"] == "incomplete"


def test_one_usable_clip_among_interrupted_ones_is_complete(
    client: TestClient, db_session: Session, started: panel.Started
) -> None:
    _recorded(client, started, [ev(0, "start", 0, 0)], ad=0)  # cut off after its start
    _recorded(client, started, panel.playing_events(AD_S * 1000), ad=1)
    assert _end(client, started)["status"] == "complete"


def test_no_clip_at_all_is_incomplete_and_an_unfinished_one_does_not_count(
    client: TestClient, db_session: Session, started: panel.Started
) -> None:
    clip_id = panel.open_clip(client, started)
    panel.upload(client, started, clip_id, [b"\x1a" * 500])  # never finished: abandoned at end
    assert _end(client, started)["status"] == "incomplete"
    clip = db_session.scalar(select(Clip))
    assert clip is not None
    db_session.refresh(clip)
    assert clip.status == ClipStatus.ABANDONED


def test_an_analysed_clip_counts_by_its_verdict(
    client: TestClient, db_session: Session, started: panel.Started
) -> None:
    clip_id = _recorded(client, started, panel.playing_events(AD_S * 1000))
    clip = db_session.scalar(select(Clip))
    assert clip is not None and str(clip.public_id) == clip_id
    clip.status, clip.usable, clip.exclusion_reason = ClipStatus.DONE, False, "no_face"
    db_session.commit()
    assert _end(client, started)["status"] == "incomplete"


def test_other_statuses_are_kept_as_asked(
    client: TestClient, db_session: Session, started: panel.Started
) -> None:
    assert _end(client, started, "no_camera")["status"] == "no_camera"
    assert _stored_status(db_session) == SessionStatus.NO_CAMERA


def test_incomplete_cannot_be_asked_for_by_the_recorder(
    client: TestClient, started: panel.Started
) -> None:
    answer = client.post(
        f"{API}/sessions/{started.session_id}/end",
        headers=started.headers,
        json={"status": "incomplete"},
    )
    assert answer.status_code == 422


@pytest.mark.parametrize(
    ("events", "seen"),
    [
        ([("start", 0, 0), ("end", 10, 10)], 10.0),
        ([("start", 0, 0)], 0.0),  # open-ended: nothing known
        ([("start", 0, 0), ("stall", 4, 4), ("resume", 6, 4), ("end", 12, 10)], 10.0),
        ([("start", 0, 0), ("hidden", 3, 3), ("visible", 8, 8), ("end", 10, 10)], 5.0),
        # A replayed stretch counts once; time past the ad's end counts for nothing.
        ([("start", 0, 0), ("resume", 5, 0), ("end", 20, 15)], 10.0),
    ],
)
def test_seen_seconds(events: list[tuple[str, float, float]], seen: float) -> None:
    rows = [(PlaybackEventKind(kind), c * 1000, a * 1000) for kind, c, a in events]
    assert seen_seconds(rows, AD_S) == pytest.approx(seen)
