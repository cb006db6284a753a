"""The recorder's beacon when the panelist leaves the page (POST /sessions/{id}/presence): a
closed tab's clip is finished promptly (at once when every chunk arrived, else by the idle rules
without waiting session_idle_seconds); authenticated like a chunk upload, idempotent, and a
replayed or forged beacon changes nothing."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus
from tests.support import panel
from tests.support.factories import make_ad, make_integration, make_study
from tests.web.panel.conftest import QueuedIds
from web.clips import idle
from web.clips.models import Chunk, Clip, DeletionAudit, PanelSession
from web.db import utcnow
from web.settings import Settings
from web.studies.models import Integration

API = panel.API
BEACON = {"Content-Type": "text/plain;charset=UTF-8"}  # what navigator.sendBeacon sends
START = {"seq": 0, "kind": "start", "clip_ms": 0, "ad_ms": 0}


def _integration(db_session: Session) -> Integration:
    study = make_study(db_session)
    make_ad(db_session, study)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    return integration


def _recording(
    client: TestClient, db_session: Session, respondent: str = "R_42", chunks: int = 3
) -> tuple[panel.Started, str]:
    started = panel.start(client, _integration(db_session), respondent)
    panel.consent(client, started)
    clip_id = panel.open_clip(client, started)
    panel.upload(client, started, clip_id, [f"chunk {i}".encode() for i in range(chunks)])
    return started, clip_id


def _beacon(
    client: TestClient, started: panel.Started, seq: int, clips: list[dict[str, Any]], **body: Any
) -> Any:
    """A beacon exactly as the recorder sends it: text/plain JSON, the token in the body."""
    message = {"token": started.token, "seq": seq, "present": False, "clips": clips, **body}
    return client.post(
        f"{API}/sessions/{started.session_id}/presence", content=json.dumps(message), headers=BEACON
    )


def _clip(db_session: Session, clip_id: str) -> Clip:
    db_session.expire_all()
    clip = db_session.scalar(select(Clip).where(Clip.public_id == uuid.UUID(clip_id)))
    assert clip is not None
    return clip


def _session(db_session: Session, started: panel.Started) -> PanelSession:
    db_session.expire_all()
    row = db_session.scalar(
        select(PanelSession).where(PanelSession.public_id == uuid.UUID(started.session_id))
    )
    assert row is not None
    return row


def test_a_final_leave_queues_a_clip_whose_every_chunk_arrived_and_a_replay_changes_nothing(
    client: TestClient, db_session: Session, queued_ids: QueuedIds
) -> None:
    started, clip_id = _recording(client, db_session)
    clips = [{"clip_id": clip_id, "chunk_count": 3}]

    left = _beacon(client, started, 1_700_000_000_000, clips)
    assert left.status_code == 200, left.text
    assert left.json() == {"taken": True, "queued": 1, "abandoned": 0}
    clip = _clip(db_session, clip_id)
    assert (clip.status, clip.expected_chunks) == (ClipStatus.QUEUED, 3)
    assert clip.enqueued_at is not None and queued_ids() == [clip.id]
    before = (clip.finished_at, clip.enqueued_at, _session(db_session, started).left_at)

    replay = _beacon(client, started, 1_700_000_000_000, clips)
    assert replay.status_code == 200 and replay.json()["taken"] is False
    clip = _clip(db_session, clip_id)
    after = (clip.finished_at, clip.enqueued_at, _session(db_session, started).left_at)
    assert after == before and queued_ids() == [clip.id], "handed to the analysis once"
    # The recorder's own finish, arriving late, answers the clip's state and queues nothing.
    finish = client.post(
        f"{API}/clips/{clip_id}/finish", headers=started.headers, json={"chunk_count": 3}
    )
    assert finish.status_code == 202 and queued_ids() == [clip.id]


def test_the_events_not_sent_yet_come_with_the_beacon_and_are_stored_before_the_finish(
    client: TestClient, db_session: Session
) -> None:
    """The tab's "hidden" as it closed is what lines the recording up with the ad's end."""
    started, clip_id = _recording(client, db_session)
    sent = client.post(
        f"{API}/clips/{clip_id}/events", headers=started.headers, json={"events": [START]}
    )
    assert sent.status_code == 200
    hidden = {"seq": 1, "kind": "hidden", "clip_ms": 2900, "ad_ms": 2900}
    clips = [{"clip_id": clip_id, "chunk_count": 3, "events": [START, hidden]}]
    assert _beacon(client, started, 9, clips).json()["queued"] == 1
    clip = _clip(db_session, clip_id)
    assert [(e.seq, e.kind.value) for e in clip.events] == [(0, "start"), (1, "hidden")]


def test_a_beacon_whose_events_contradict_the_stored_ones_changes_nothing(
    client: TestClient, db_session: Session
) -> None:
    started, clip_id = _recording(client, db_session)
    client.post(f"{API}/clips/{clip_id}/events", headers=started.headers, json={"events": [START]})
    other = {**START, "clip_ms": 5}
    answer = _beacon(
        client, started, 9, [{"clip_id": clip_id, "chunk_count": 3, "events": [other]}]
    )
    assert answer.status_code == 409
    _unchanged(db_session, started, clip_id)


def test_a_final_beacon_overtaken_by_a_later_one_still_finishes_its_clips(
    client: TestClient, db_session: Session, queued_ids: QueuedIds
) -> None:
    """A page going away sends two beacons at once (pagehide, visibilitychange); the network
    may deliver the later one first. The mark follows the newest; the clips are finished."""
    started, clip_id = _recording(client, db_session)
    assert _beacon(client, started, 21, []).json()["taken"] is True
    late = _beacon(client, started, 20, [{"clip_id": clip_id, "chunk_count": 3}])
    assert late.json() == {"taken": False, "queued": 1, "abandoned": 0}
    assert _clip(db_session, clip_id).status == ClipStatus.QUEUED
    assert _session(db_session, started).presence_seq == 21
    again = _beacon(client, started, 20, [{"clip_id": clip_id, "chunk_count": 3}])
    assert again.json() == {"taken": False, "queued": 0, "abandoned": 0}
    assert queued_ids() == [_clip(db_session, clip_id).id]


def _unchanged(db_session: Session, started: panel.Started, clip_id: str) -> None:
    row = _session(db_session, started)
    assert (row.left_at, row.presence_seq) == (None, 0)
    assert _clip(db_session, clip_id).status == ClipStatus.UPLOADING


@pytest.mark.parametrize(
    ("forge", "status"),
    [("no token", 401), ("tampered", 401), ("other session", 403), ("other clip", 404)],
)
def test_a_forged_beacon_changes_nothing(
    client: TestClient, db_session: Session, queued_ids: QueuedIds, forge: str, status: int
) -> None:
    started, clip_id = _recording(client, db_session)
    other, other_clip = _recording(client, db_session, "R_43")
    clips = [{"clip_id": clip_id, "chunk_count": 3}]
    if forge == "no token":
        answer = _beacon(client, started, 5, clips, token=None)
    elif forge == "tampered":
        answer = _beacon(client, started, 5, clips, token=started.token[:-2] + "xx")
    elif forge == "other session":  # a valid token, for another session's path
        answer = _beacon(client, started, 5, clips, token=other.token)
    else:  # the session's own token, naming another session's clip
        answer = _beacon(client, started, 5, [{"clip_id": other_clip, "chunk_count": 3}])
    assert answer.status_code == status, answer.text
    _unchanged(db_session, started, clip_id)
    _unchanged(db_session, other, other_clip)
    assert queued_ids() == []


def test_the_token_may_come_in_the_authorization_header_as_for_a_chunk(
    client: TestClient, db_session: Session
) -> None:
    started, clip_id = _recording(client, db_session)
    answer = client.post(
        f"{API}/sessions/{started.session_id}/presence",
        headers=started.headers,
        json={"seq": 3, "present": False},
    )
    assert answer.json() == {"taken": True, "queued": 0, "abandoned": 0}
    assert _session(db_session, started).left_at is not None
    assert _clip(db_session, clip_id).status == ClipStatus.UPLOADING, "not listed: left alone"


def _idle_job(db_session: Session, settings: Settings) -> idle.IdleReport:
    """The idle job on the test's transaction, with the session rule at its default 15 min."""

    def factory() -> Session:
        return Session(bind=db_session.connection(), join_transaction_mode="create_savepoint")

    strict = settings.model_copy(update={"session_idle_seconds": 900})
    return idle.finish_idle_clips(settings=strict, factory=factory, send=lambda _id: True)  # type: ignore[arg-type]


def _quiet_for(db_session: Session, clip_id: str, seconds: float) -> None:
    """The clip's chunks arrived `seconds` ago (past upload_idle_seconds, 120 s)."""
    clip = _clip(db_session, clip_id)
    at = utcnow() - timedelta(seconds=seconds)
    for chunk in db_session.scalars(select(Chunk).where(Chunk.clip_id == clip.id)):
        chunk.received_at = at
    clip.created_at = at - timedelta(seconds=5)
    clip.session.created_at = at - timedelta(seconds=60)
    db_session.flush()


def test_a_leave_with_chunks_held_back_lets_the_idle_rules_finish_the_clip_without_the_wait(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    """Chunk 2 never arrived (the browser still holds it, a reload would send it): the clip is
    not finished at once, but once idle for upload_idle_seconds the idle job takes chunks 0..1
    and deletes chunk 3 past the gap, instead of waiting 15 minutes of a silent session."""
    started, clip_id = _recording(client, db_session, chunks=2)
    assert panel.put_chunk(client, started, clip_id, 3, b"chunk 3").status_code == 201
    _quiet_for(db_session, clip_id, 200)
    assert _idle_job(db_session, settings).finished == 0, "before: the session rule holds it"

    left = _beacon(client, started, 7, [{"clip_id": clip_id, "chunk_count": 4}])
    assert left.json() == {"taken": True, "queued": 0, "abandoned": 0}, "2 is missing: not now"
    assert _clip(db_session, clip_id).status == ClipStatus.UPLOADING

    report = _idle_job(db_session, settings)
    assert (report.finished, report.gaps) == (1, 1)
    clip = _clip(db_session, clip_id)
    assert (clip.status, clip.expected_chunks, clip.auto_finished) == (ClipStatus.QUEUED, 2, True)
    gap = db_session.scalars(select(DeletionAudit.reason).where(DeletionAudit.clip_id == clip.id))
    assert list(gap) == ["gap"]


@pytest.mark.parametrize("sign_of_life", ["back", "resume"])
def test_a_panelist_who_came_back_is_not_taken_for_gone(
    client: TestClient, db_session: Session, settings: Settings, sign_of_life: str
) -> None:
    started, clip_id = _recording(client, db_session, chunks=2)
    _quiet_for(db_session, clip_id, 200)
    assert _beacon(client, started, 7, []).json()["taken"] is True
    if sign_of_life == "back":  # the hidden tab is shown again
        back = client.post(
            f"{API}/sessions/{started.session_id}/presence",
            headers=started.headers,
            json={"seq": 8, "present": True},
        )
        assert back.json()["taken"] is True
    else:  # a reload: the same browser resumes with its token
        integration = _integration_of(db_session, started)
        panel.start(client, integration, "R_42", resume_token=started.resume_token)
    assert _idle_job(db_session, settings).finished == 0
    assert _clip(db_session, clip_id).status == ClipStatus.UPLOADING


def _integration_of(db_session: Session, started: panel.Started) -> Integration:
    integration = db_session.get(Integration, _session(db_session, started).integration_id)
    assert integration is not None
    return integration


def test_a_replayed_leave_after_coming_back_changes_nothing(
    client: TestClient, db_session: Session
) -> None:
    started, _clip_id = _recording(client, db_session)
    assert _beacon(client, started, 10, []).json()["taken"] is True
    back = client.post(
        f"{API}/sessions/{started.session_id}/presence",
        headers=started.headers,
        json={"seq": 11, "present": True},
    )
    assert back.json()["taken"] is True
    for seq in (10, 11):
        assert _beacon(client, started, seq, []).json()["taken"] is False
    row = _session(db_session, started)
    assert (row.left_at, row.presence_seq) == (None, 11)


def test_an_opened_clip_with_nothing_recorded_is_deleted_on_leaving(
    client: TestClient, db_session: Session
) -> None:
    started, _first = _recording(client, db_session)
    empty = panel.open_clip(client, started, started.ad_ids[1])
    left = _beacon(client, started, 3, [{"clip_id": empty, "chunk_count": 0}])
    assert left.json() == {"taken": True, "queued": 0, "abandoned": 1}
    clip = _clip(db_session, empty)
    assert (clip.status, clip.data_key) == (ClipStatus.ABANDONED, None)
    audit = db_session.scalars(select(DeletionAudit).where(DeletionAudit.clip_id == clip.id)).all()
    assert [(a.reason, a.bytes, a.key_destroyed) for a in audit] == [("abandoned", 0, True)]


def test_a_leave_after_the_session_ended_changes_nothing(
    client: TestClient, db_session: Session
) -> None:
    started, clip_id = _recording(client, db_session)
    ended = client.post(
        f"{API}/sessions/{started.session_id}/end",
        headers=started.headers,
        json={"status": "complete"},
    )
    assert ended.status_code == 200
    left = _beacon(client, started, 3, [{"clip_id": clip_id, "chunk_count": 3}])
    assert left.json()["taken"] is False
    assert _session(db_session, started).left_at is None
    assert _clip(db_session, clip_id).status == ClipStatus.ABANDONED, "as the end left it"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 422),
        (b'{"seq": 0, "present": false}', 422),
        (b'{"seq": 1, "present": true, "clips": [{"clip_id": "%s", "chunk_count": 1}]}', 422),
        (b'{"seq": 1, "present": false, "surprise": 1}', 422),
        (b'{"seq": 1, "present": false, "pad": "' + b"x" * 70000 + b'"}', 413),
    ],
    ids=["not json", "seq 0", "clips when back", "unknown field", "too large"],
)
def test_a_bad_presence_message_is_a_clear_4xx(
    client: TestClient, db_session: Session, body: bytes, status: int
) -> None:
    started, clip_id = _recording(client, db_session)
    answer = client.post(
        f"{API}/sessions/{started.session_id}/presence",
        content=body.replace(b"%s", clip_id.encode()),
        headers={**started.headers, **BEACON},
    )
    assert answer.status_code == status, answer.text
    _unchanged(db_session, started, clip_id)


def _shift_back(db_session: Session, started: panel.Started, clip_id: str, seconds: float) -> None:
    """Everything that happened (chunks, clip, session start, the leave) happened `seconds`
    earlier, keeping the order and gaps between them."""
    delta = timedelta(seconds=seconds)
    clip = _clip(db_session, clip_id)
    for chunk in db_session.scalars(select(Chunk).where(Chunk.clip_id == clip.id)):
        chunk.received_at -= delta
    clip.created_at -= delta
    db_session.flush()  # before _session() expires everything
    row = _session(db_session, started)
    row.created_at -= delta
    if row.left_at is not None:
        row.left_at -= delta
    db_session.flush()


def test_a_chunk_in_flight_as_the_page_left_extends_the_clip_and_the_leave_holds(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    """Issue 20, item 4: the chunk in flight when the tab closed committed 12-41 ms after the
    beacon and cancelled the leave, so the clip waited the 15-minute session rule. Now it is
    kept, and the clip is finished once idle for left_idle_seconds (30 s): with the job running
    every sweep_interval_seconds (60 s), at most 90 s after the last chunk."""
    started, clip_id = _recording(client, db_session, chunks=2)
    assert _beacon(client, started, 7, []).json()["taken"] is True  # chunk 2 still in flight
    assert panel.put_chunk(client, started, clip_id, 2, b"chunk 2").status_code == 201
    assert _idle_job(db_session, settings).finished == 0, "not idle yet: a reload may come"

    _shift_back(db_session, started, clip_id, settings.left_idle_seconds + 1)
    report = _idle_job(db_session, settings)
    assert (report.finished, report.gaps) == (1, 0)
    clip = _clip(db_session, clip_id)
    assert (clip.status, clip.expected_chunks) == (ClipStatus.QUEUED, 3), "with the late chunk"


def test_a_hidden_tab_recording_on_keeps_its_clip_open_until_its_chunks_stop(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    """Issue 20, item 4: a tab that reported `hidden` and was then closed offline sends no
    beacon of its own. Its chunks after the mark keep the clip open only while they come; once
    they stop for left_idle_seconds the clip is finished, not after the session's 15 minutes."""
    started, clip_id = _recording(client, db_session, chunks=2)
    assert _beacon(client, started, 7, []).json()["taken"] is True  # hidden, not closed
    _shift_back(db_session, started, clip_id, 20)  # the mark was 20 s ago
    assert panel.put_chunk(client, started, clip_id, 2, b"chunk 2").status_code == 201
    assert _idle_job(db_session, settings).finished == 0, "a hidden tab still recording"
    _shift_back(db_session, started, clip_id, settings.left_idle_seconds - 5)
    assert _idle_job(db_session, settings).finished == 0, "quiet for less than the left rule"
    _shift_back(db_session, started, clip_id, 6)
    report = _idle_job(db_session, settings)
    assert (report.finished, report.gaps) == (1, 0)
    clip = _clip(db_session, clip_id)
    assert (clip.status, clip.expected_chunks, clip.auto_finished) == (ClipStatus.QUEUED, 3, True)


def test_without_any_beacon_an_offline_recorder_keeps_its_clip_open(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    """No mark (a tab closed offline that never reported hidden, or a recorder merely offline):
    the server cannot tell them apart, so the clip waits the session rule (15 minutes)."""
    _started, clip_id = _recording(client, db_session, chunks=2)
    _quiet_for(db_session, clip_id, settings.upload_idle_seconds + 60)
    assert _idle_job(db_session, settings).finished == 0


def test_a_left_session_ends_abandoned_at_the_idle_rule_not_the_token_lifetime(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    """Issue 20, item 6: a session whose page left stayed `consented` for the token's 4 h."""
    left, left_clip = _recording(client, db_session, chunks=2)
    assert _beacon(client, left, 7, [{"clip_id": left_clip, "chunk_count": 2}]).json()["queued"]
    silent, silent_clip = _recording(client, db_session, respondent="R_43", chunks=2)
    finish = client.post(
        f"{API}/clips/{silent_clip}/finish", headers=silent.headers, json={"chunk_count": 2}
    )
    assert finish.status_code == 202
    quiet = settings.session_idle_seconds + 1
    _shift_back(db_session, left, left_clip, quiet)
    _shift_back(db_session, silent, silent_clip, quiet)

    def factory() -> Session:
        return Session(bind=db_session.connection(), join_transaction_mode="create_savepoint")

    assert idle.end_idle_sessions(settings=settings, factory=factory) == 1  # type: ignore[arg-type]
    assert _session(db_session, left).status.value == "abandoned"
    # No beacon (a tab closed offline, a crash): the token's lifetime still applies.
    assert _session(db_session, silent).status.value == "consented"


def test_a_withdrawal_beacon_erases_the_session_and_needs_its_token(
    client: TestClient, db_session: Session
) -> None:
    """Issue 20, item 1: a page going away with its withdrawal not yet acknowledged sends it as
    its last beacon; the uploading clip is deleted, audited `withdrawn`, never analysed."""
    started, clip_id = _recording(client, db_session, chunks=2)
    row_id = _clip(db_session, clip_id).id
    forged = client.post(
        f"{API}/sessions/{started.session_id}/presence",
        content=json.dumps({"token": "forged", "seq": 5, "present": False, "withdraw": True}),
        headers=BEACON,
    )
    assert forged.status_code == 401
    for seq in (6, 6):  # a replay is harmless
        answer = _beacon(client, started, seq, [], withdraw=True)
        assert answer.status_code == 200, answer.text
    db_session.expire_all()
    assert db_session.get(Clip, row_id) is None
    reasons = db_session.scalars(
        select(DeletionAudit.reason).where(DeletionAudit.clip_id == row_id)
    )
    assert list(reasons) == ["withdrawn"]
    assert _session(db_session, started).status.value == "withdrawn"
    shown = client.post(
        f"{API}/sessions/{started.session_id}/presence",
        headers=started.headers,
        json={"seq": 9, "present": True, "withdraw": True},
    )
    assert shown.status_code == 422
