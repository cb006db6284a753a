"""An ad cut off by a reload is offered again once (issue 20, item 5; web/clips/reoffer.py):
the resumed session lists it, `restart: true` deletes the first take (audited, key destroyed)
and starts the clip afresh under a new id; a second restart, or one of an ad that played to its
end, is refused with 409."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus
from tests.support import panel, stored
from tests.support.factories import make_ad, make_integration, make_study
from web.clips.models import Clip, DeletionAudit, PlaybackEvent
from web.settings import Settings

API = panel.API


@pytest.fixture
def fielded(db_session: Session):  # type: ignore[no-untyped-def]
    study = make_study(db_session)
    make_ad(db_session, study, duration_s=10.0)
    make_ad(db_session, study, duration_s=10.0)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    return integration


def _restart(client: TestClient, started: panel.Started, ad_id: int):  # type: ignore[no-untyped-def]
    return client.post(
        f"{API}/sessions/{started.session_id}/clips",
        headers=started.headers,
        json={"ad_id": ad_id, "mime_type": "video/webm", "restart": True},
    )


def _events(client: TestClient, started: panel.Started, clip_id: str, kinds: list[str]) -> None:
    events = [
        {"seq": i, "kind": kind, "clip_ms": 1000 * i, "ad_ms": 1000 * i}
        for i, kind in enumerate(kinds)
    ]
    answer = client.post(
        f"{API}/clips/{clip_id}/events", headers=started.headers, json={"events": events}
    )
    assert answer.status_code == 200, answer.text


def test_a_cut_off_ad_is_offered_again_once_and_its_first_take_deleted(
    client: TestClient, db_session: Session, settings: Settings, fielded
) -> None:  # type: ignore[no-untyped-def]
    first = panel.start(client, fielded)
    panel.consent(client, first)
    ad_one, ad_two = first.ad_ids
    cut = panel.open_clip(client, first, ad_one)
    panel.upload(client, first, cut, [b"take one a", b"take one b"])
    _events(client, first, cut, ["start"])
    whole = panel.open_clip(client, first, ad_two)
    panel.upload(client, first, whole, [b"ad two"])
    _events(client, first, whole, ["start", "end"])  # played to its end: not offered again

    resumed = panel.start(client, fielded, resume_token=first.resume_token)
    assert resumed.session_id == first.session_id
    assert resumed.body["reoffer_ads"] == [{"ad_id": ad_one, "chunks": 2}]
    assert sorted(resumed.body["recorded_ads"]) == sorted([ad_one, ad_two])

    answer = _restart(client, resumed, ad_one)
    assert answer.status_code == 200, answer.text
    fresh = answer.json()
    assert fresh["received"] == [] and fresh["status"] == "uploading"
    assert fresh["clip_id"] != cut, "a new id: nothing of the first take is reachable"
    db_session.expire_all()
    clip = db_session.scalar(select(Clip).where(Clip.public_id == uuid.UUID(fresh["clip_id"])))
    assert clip is not None and clip.chunks_received == 0 and clip.video_deleted_at is None
    assert (
        db_session.scalars(select(PlaybackEvent).where(PlaybackEvent.clip_id == clip.id)).all()
        == []
    )
    audit = db_session.scalars(select(DeletionAudit).where(DeletionAudit.clip_id == clip.id)).one()
    assert audit.reason == "restarted" and audit.key_destroyed and audit.bytes == 20
    assert not stored.has_video(settings, cut)
    gone = panel.put_chunk(client, resumed, cut, 2, b"late chunk of the first take")
    assert gone.status_code == 404

    # The second take records as any clip, and is finished as any.
    panel.upload(client, resumed, fresh["clip_id"], [b"take two"])
    assert stored.has_video(settings, fresh["clip_id"])

    # Once only: a second reload does not offer it again, and a restart is refused.
    again = panel.start(client, fielded, resume_token=first.resume_token)
    assert again.body["reoffer_ads"] == []
    refused = _restart(client, again, ad_one)
    assert refused.status_code == 409 and refused.json()["code"] == "no_restart"
    assert stored.has_video(settings, fresh["clip_id"]), "a refused restart deletes nothing"
    # An ad that played to its end is never restarted.
    assert _restart(client, again, ad_two).status_code == 409
    db_session.expire_all()
    assert {c.status for c in db_session.scalars(select(Clip))} == {ClipStatus.UPLOADING}


def test_restart_of_an_empty_clip_is_the_clip_itself_and_a_fresh_start_lists_nothing(
    client: TestClient, fielded
) -> None:  # type: ignore[no-untyped-def]
    started = panel.start(client, fielded)
    panel.consent(client, started)
    assert started.body["reoffer_ads"] == []
    empty = panel.open_clip(client, started)
    answer = _restart(client, started, started.ad_ids[0])
    assert answer.status_code == 200 and answer.json()["clip_id"] == empty
