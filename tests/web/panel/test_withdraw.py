"""Withdrawal, erasure by receipt code and session end: video, curves and aggregates go too."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus, DeletionReason, SessionStatus
from tests.support import panel, stored
from tests.support.factories import make_ad, make_integration, make_study
from web.clips.aggregates import apply_clip
from web.clips.deletion import keyed_fingerprint
from web.clips.models import (
    AdAggregate,
    Chunk,
    Clip,
    ClipSecond,
    ConsentRecord,
    DeletionAudit,
    PanelSession,
    PlaybackEvent,
)
from web.db import utcnow
from web.settings import Settings

API = panel.API


@pytest.fixture
def two_clips(
    client: TestClient, db_session: Session, settings: Settings
) -> tuple[panel.Started, list[str]]:
    """A consented panelist who finished one ad (analysed, in the aggregates) and is mid-way
    through another (chunks on disk), plus a second panelist whose data must stay."""
    study = make_study(db_session)
    make_ad(db_session, study)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    started = panel.start(client, integration, passthrough={"age": "18-24"})
    panel.consent(client, started)
    analysed, uploading = (panel.open_clip(client, started, ad) for ad in started.ad_ids)
    panel.upload(client, started, uploading, [b"part one", b"part two"])
    client.post(
        f"{API}/clips/{uploading}/events",
        headers=started.headers,
        json={"events": panel.playing_events(2000)},
    )
    # The first clip as the worker leaves it: curves stored and counted, video and key gone.
    clip = db_session.scalar(select(Clip).where(Clip.public_id == uuid.UUID(analysed)))
    assert clip is not None
    db_session.add_all(
        ClipSecond(
            clip_id=clip.id, ad_id=clip.ad_id, second=s, attention=1.0, smile=0.5, n_frames=15
        )
        for s in range(3)
    )
    clip.status, clip.usable, clip.video_deleted_at = ClipStatus.DONE, True, clip.created_at
    clip.data_key = None
    db_session.flush()
    apply_clip(db_session, clip.id, +1)
    clip.aggregated = True
    db_session.flush()
    other = panel.start(client, integration, "someone else", passthrough={"age": "18-24"})
    panel.consent(client, other)
    other_clip = panel.open_clip(client, other)
    panel.upload(client, other, other_clip, [b"theirs"])
    return started, [analysed, uploading, other_clip]


def _aggregate_n(db_session: Session) -> dict[tuple[str, str, int], int]:
    db_session.expire_all()
    return {
        (row.segment_var, row.metric, row.second): row.n
        for row in db_session.scalars(select(AdAggregate))
    }


def _assert_erased(
    db_session: Session, settings: Settings, clip_ids: list[str], reason: DeletionReason
) -> None:
    analysed, uploading, other_clip = clip_ids
    db_session.expire_all()
    for clip_id in (analysed, uploading):
        assert db_session.scalar(select(Clip).where(Clip.public_id == uuid.UUID(clip_id))) is None
        assert not stored.has_video(settings, clip_id)
    # Derived rows are gone and the aggregates no longer count this panelist.
    remaining = db_session.scalars(select(Clip)).all()
    assert [str(c.public_id) for c in remaining] == [other_clip]
    assert db_session.scalars(select(ClipSecond)).all() == []
    assert db_session.scalars(select(PlaybackEvent)).all() == []
    assert {c.clip_id for c in db_session.scalars(select(Chunk))} == {remaining[0].id}
    assert set(_aggregate_n(db_session).values()) == {0}
    # One audit row for the video that was on disk, none for the one already deleted.
    (audit,) = db_session.scalars(select(DeletionAudit)).all()
    assert audit.reason == reason and audit.bytes == len(b"part onepart two")
    # A keyed hash, never the plain sha256 that would confirm a given file was uploaded.
    assert audit.sha256 == keyed_fingerprint(settings, panel.sha256(b"part onepart two"))
    assert audit.sha256 != panel.sha256(b"part onepart two")
    assert audit.key_destroyed
    # The other panelist's upload is untouched.
    assert stored.plain(db_session, settings, other_clip, 0) == b"theirs"
    session_row = db_session.scalars(
        select(PanelSession).where(PanelSession.status == SessionStatus.WITHDRAWN)
    ).one()
    assert session_row.respondent_hash == "" and session_row.passthrough == {}


def test_withdraw_deletes_everything_of_the_session(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    two_clips: tuple[panel.Started, list[str]],
) -> None:
    started, clip_ids = two_clips
    assert _aggregate_n(db_session)[("", "smile", 0)] == 1
    response = client.post(f"{API}/sessions/{started.session_id}/withdraw", headers=started.headers)
    assert response.status_code == 200 and response.json() == {"status": "withdrawn"}
    _assert_erased(db_session, settings, clip_ids, DeletionReason.WITHDRAWN)
    # Everything stops: no more chunks, clips or events for this session.
    late = panel.put_chunk(client, started, clip_ids[1], 2, b"late")
    assert late.status_code in (403, 404)
    reopen = client.post(
        f"{API}/sessions/{started.session_id}/clips",
        headers=started.headers,
        json={"ad_id": started.ad_ids[0], "mime_type": "video/webm"},
    )
    assert reopen.status_code == 403 and "withdrawn" in reopen.json()["detail"]
    # The consent record (which text was agreed to, when) stays, linked to nothing personal.
    assert len(db_session.scalars(select(ConsentRecord)).all()) == 2


def test_erasure_by_receipt_code_later(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    two_clips: tuple[panel.Started, list[str]],
) -> None:
    started, clip_ids = two_clips
    code = panel.consent(client, started)["receipt_code"]
    typed = f"  {code.lower().replace('-', ' ')} "
    response = client.post(f"{API}/erase", json={"receipt_code": typed})
    assert response.status_code == 200 and response.json()["erased"] is True
    # When, so a panelist (or a script acting for them) can keep the time of the erasure.
    erased_at = datetime.fromisoformat(response.json()["erased_at"])
    since = erased_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
    assert abs(since.total_seconds()) < 60
    _assert_erased(db_session, settings, clip_ids, DeletionReason.ERASED)
    # Asking again is harmless.
    assert client.post(f"{API}/erase", json={"receipt_code": code}).json()["erased"] is True


def test_an_unknown_receipt_code_is_404(client: TestClient, db_session: Session) -> None:
    response = client.post(f"{API}/erase", json={"receipt_code": "AAAA-BBBB-CCCC-DDDD"})
    assert response.status_code == 404
    assert "receipt code" in response.json()["detail"]
    assert client.post(f"{API}/erase", json={"receipt_code": ""}).status_code == 422


def test_ending_the_session_abandons_unfinished_clips(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    two_clips: tuple[panel.Started, list[str]],
) -> None:
    started, (_analysed, uploading, _other) = two_clips
    response = client.post(
        f"{API}/sessions/{started.session_id}/end",
        headers=started.headers,
        json={"status": "complete"},
    )
    body = response.json()
    assert response.status_code == 200 and body["status"] == "complete"
    assert len(body["receipt_code"]) == 19
    db_session.expire_all()
    clip = db_session.scalar(select(Clip).where(Clip.public_id == uuid.UUID(uploading)))
    assert clip is not None and clip.status == ClipStatus.ABANDONED
    assert not stored.has_video(settings, uploading)
    (audit,) = db_session.scalars(select(DeletionAudit)).all()
    assert audit.reason == DeletionReason.ABANDONED and audit.clip_id == clip.id
    # The analysed clip keeps its curves; ending twice answers the same.
    assert len(db_session.scalars(select(ClipSecond)).all()) == 3
    again = client.post(
        f"{API}/sessions/{started.session_id}/end",
        headers=started.headers,
        json={"status": "failed"},
    )
    assert again.json()["status"] == "complete"


def test_a_session_without_consent_can_only_end_as_failed(
    client: TestClient, db_session: Session
) -> None:
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    started = panel.start(client, integration)
    url = f"{API}/sessions/{started.session_id}/end"
    assert client.post(url, headers=started.headers, json={"status": "complete"}).status_code == 409
    assert client.post(url, headers=started.headers, json={"status": "done"}).status_code == 422
    failed = client.post(url, headers=started.headers, json={"status": "failed"})
    assert failed.json() == {"status": "failed"}
