"""A clip is bounded by its ad (issue 19.5): chunks and events past the ad's length plus a
margin are 413, with a sentence naming the bound; a real recording fits with room to spare."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support import panel, stored
from tests.support.factories import make_ad, make_integration, make_study
from web.clips.bounds import clip_bound
from web.settings import Settings

API = panel.API
AD_SECONDS = 15.0


@pytest.fixture
def fifteen_s(client: TestClient, db_session: Session) -> tuple[panel.Started, str]:
    """A consented panelist with the clip of a 15 s ad open."""
    study = make_study(db_session)
    ad = make_ad(db_session, study, duration_s=AD_SECONDS)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    started = panel.start(client, integration)
    panel.consent(client, started)
    return started, panel.open_clip(client, started, ad.id)


def test_the_bound_is_the_ad_s_length_plus_the_margin(settings: Settings) -> None:
    bound = clip_bound(settings, AD_SECONDS)
    assert bound.seconds == AD_SECONDS + settings.clip_margin_s == 25.0
    assert bound.chunks == 100  # 25 s at 4 chunks a second (the recorder's chunkMs >= 250)
    assert bound.bytes == 25 * 4_000_000 // 8  # 25 s at 4 Mbit/s (the recorder asks for 1)
    # The deployment-wide caps still hold for a long ad, and alone when the length is unknown.
    assert clip_bound(settings, 10 * 3600).chunks == settings.max_chunks_per_clip
    assert clip_bound(settings, 10 * 3600).bytes == settings.max_clip_bytes
    assert clip_bound(settings, None).chunks == settings.max_chunks_per_clip


def test_a_forty_minute_recording_of_a_15_s_ad_is_refused(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    fifteen_s: tuple[panel.Started, str],
) -> None:
    """The attack of issue 19: 40 minutes of one-second chunks against a 15 s ad."""
    started, clip_id = fifteen_s
    bound = clip_bound(settings, AD_SECONDS)
    assert panel.put_chunk(client, started, clip_id, bound.chunks - 1, b"x").status_code == 201
    for index in (bound.chunks, 40 * 60 - 1):
        refused = panel.put_chunk(client, started, clip_id, index, b"x")
        assert refused.status_code == 413
        detail = refused.json()["detail"]
        assert f"at most {bound.chunks} chunks" in detail and "25 s" in detail
    assert stored.indices(settings, clip_id) == [bound.chunks - 1]
    # The recorder's own timing says the same: an event 40 minutes in is refused, and nothing
    # of that request is kept.
    events = [
        {"seq": 0, "kind": "start", "clip_ms": 0, "ad_ms": 0},
        {"seq": 1, "kind": "end", "clip_ms": 40 * 60 * 1000, "ad_ms": 15_000},
    ]
    refused = client.post(
        f"{API}/clips/{clip_id}/events", headers=started.headers, json={"events": events}
    )
    assert refused.status_code == 413
    assert "past the end of this ad's recording" in refused.json()["detail"]
    # An ad position past the ad's end is the same lie.
    events[1] = {"seq": 1, "kind": "end", "clip_ms": 15_000, "ad_ms": 30 * 60 * 1000}
    refused = client.post(
        f"{API}/clips/{clip_id}/events", headers=started.headers, json={"events": events}
    )
    assert refused.status_code == 413
    events[1] = {"seq": 1, "kind": "end", "clip_ms": 15_400, "ad_ms": 15_000}
    accepted = client.post(
        f"{API}/clips/{clip_id}/events", headers=started.headers, json={"events": events}
    )
    assert accepted.status_code == 200 and accepted.json() == {"stored": 2}


def test_bytes_past_what_the_bound_can_hold_are_refused(
    client: TestClient, settings: Settings, fifteen_s: tuple[panel.Started, str]
) -> None:
    started, clip_id = fifteen_s
    settings.clip_max_bitrate_bps = 8000  # 1000 bytes a second: 25,000 bytes for 25 s
    assert panel.put_chunk(client, started, clip_id, 0, b"a" * 20_000).status_code == 201
    refused = panel.put_chunk(client, started, clip_id, 1, b"b" * 6_000)
    assert refused.status_code == 413
    assert "exceed 25000 bytes" in refused.json()["detail"]
    assert "25 s of recording" in refused.json()["detail"]
    assert stored.indices(settings, clip_id) == [0]
    assert panel.put_chunk(client, started, clip_id, 1, b"b" * 5_000).status_code == 201


def test_a_recording_as_the_recorder_makes_it_fits_with_room_to_spare(
    client: TestClient, settings: Settings, fifteen_s: tuple[panel.Started, str]
) -> None:
    """The recorder's defaults (1 s slices at 1 Mbit/s), twice the bitrate asked for, a final
    slice at stop and one cut short at each of 4 stalls: accepted whole, and finished."""
    started, clip_id = fifteen_s
    slices = int(AD_SECONDS) + 1 + 4
    chunks = [bytes([i]) * 250_000 for i in range(slices)]
    panel.upload(client, started, clip_id, chunks)
    assert stored.indices(settings, clip_id) == list(range(slices))
    finish = client.post(
        f"{API}/clips/{clip_id}/finish", headers=started.headers, json={"chunk_count": slices}
    )
    assert finish.status_code == 202


def test_the_bound_also_holds_on_the_careful_path(
    client: TestClient,
    settings: Settings,
    fifteen_s: tuple[panel.Started, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The one-statement fast path and the careful path agree (each spells the bound)."""
    monkeypatch.setattr("web.panel.chunks.store_chunk_fast", lambda *args: False)
    started, clip_id = fifteen_s
    bound = clip_bound(settings, AD_SECONDS)
    assert panel.put_chunk(client, started, clip_id, bound.chunks - 1, b"x").status_code == 201
    assert panel.put_chunk(client, started, clip_id, bound.chunks, b"x").status_code == 413
