"""Chunked uploads: idempotent by index, order-free, size-capped, confined to their session."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus
from tests.support import panel, stored
from tests.support.factories import make_ad, make_integration, make_study
from tests.web.panel.conftest import QueuedIds
from web.clips import storage
from web.clips.models import Chunk, Clip, PlaybackEvent
from web.settings import Settings

API = panel.API


@pytest.fixture
def flow(client: TestClient, db_session: Session) -> tuple[panel.Started, str]:
    """A consented panelist with one open clip."""
    study = make_study(db_session)
    make_ad(db_session, study)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    started = panel.start(client, integration)
    panel.consent(client, started)
    return started, panel.open_clip(client, started)


def _temp_files(settings: Settings) -> list[str]:
    """Half-written uploads anywhere under the clips directory."""
    if not settings.clips_dir.exists():
        return []
    return [p.name for p in settings.clips_dir.rglob("*.tmp")]


def _clip(db_session: Session, clip_id: str) -> Clip:
    clip = db_session.scalar(select(Clip).where(Clip.public_id == uuid.UUID(clip_id)))
    assert clip is not None
    db_session.refresh(clip)
    return clip


def test_chunks_in_any_order_are_stored_as_files_named_by_index(
    client: TestClient, db_session: Session, settings: Settings, flow: tuple[panel.Started, str]
) -> None:
    started, clip_id = flow
    chunks = [bytes([i]) * (1000 + i) for i in range(4)]
    for index in (2, 0, 3, 1):
        response = panel.put_chunk(client, started, clip_id, index, chunks[index])
        assert response.status_code == 201
        assert response.json() == {"index": index, "bytes": len(chunks[index])}
    for index, data in enumerate(chunks):
        assert stored.plain(db_session, settings, clip_id, index) == data
    # Nothing half-written is left behind: temp files are renamed into place.
    assert _temp_files(settings) == []
    clip = _clip(db_session, clip_id)
    assert clip.chunks_received == 4 and clip.bytes_received == sum(map(len, chunks))
    state = client.get(f"{API}/clips/{clip_id}", headers=started.headers).json()
    assert state == {"clip_id": clip_id, "status": "uploading", "received": [0, 1, 2, 3]}


def test_a_large_streamed_chunk_is_sealed_whole(
    client: TestClient, db_session: Session, settings: Settings, flow: tuple[panel.Started, str]
) -> None:
    started, clip_id = flow
    big = bytes(range(256)) * (3 * 1024 * 1024 // 256)
    response = client.put(
        f"{API}/clips/{clip_id}/chunks/0",
        headers=started.headers,
        content=iter([big[i : i + 65536] for i in range(0, len(big), 65536)]),
    )
    assert response.status_code == 201
    assert stored.plain(db_session, settings, clip_id, 0) == big
    assert big[:4096] not in stored.sealed(settings, clip_id, 0)
    # Held in memory until sealed: no plain copy was spooled anywhere under the data directory.
    assert _temp_files(settings) == []
    for path in settings.data_dir.rglob("*"):
        assert not path.is_file() or big[:4096] not in path.read_bytes()


def test_a_replayed_chunk_is_harmless_and_other_bytes_are_409(
    client: TestClient, db_session: Session, settings: Settings, flow: tuple[panel.Started, str]
) -> None:
    started, clip_id = flow
    assert panel.put_chunk(client, started, clip_id, 0, b"first").status_code == 201
    replay = panel.put_chunk(client, started, clip_id, 0, b"first")
    assert replay.status_code == 200
    clash = panel.put_chunk(client, started, clip_id, 0, b"other")
    assert clash.status_code == 409 and "different bytes" in clash.json()["detail"]
    # The stored chunk is untouched and counted once.
    assert stored.plain(db_session, settings, clip_id, 0) == b"first"
    assert _clip(db_session, clip_id).chunks_received == 1
    assert _temp_files(settings) == []


def test_oversized_chunk_is_413_and_nothing_is_kept(
    client: TestClient, settings: Settings, flow: tuple[panel.Started, str]
) -> None:
    started, clip_id = flow
    settings.max_chunk_bytes = 1000
    response = panel.put_chunk(client, started, clip_id, 0, b"x" * 1001)
    assert response.status_code == 413
    # Also when the client does not announce the length (a streamed body).
    streamed = client.put(
        f"{API}/clips/{clip_id}/chunks/0",
        headers=started.headers,
        content=iter([b"x" * 600, b"x" * 600]),
    )
    assert streamed.status_code == 413
    assert _temp_files(settings) == []
    assert not stored.has_video(settings, clip_id)


def test_a_clip_over_its_total_cap_is_413(
    client: TestClient, settings: Settings, flow: tuple[panel.Started, str]
) -> None:
    started, clip_id = flow
    settings.max_clip_bytes = 2500
    assert panel.put_chunk(client, started, clip_id, 0, b"a" * 1200).status_code == 201
    assert panel.put_chunk(client, started, clip_id, 1, b"b" * 1200).status_code == 201
    response = panel.put_chunk(client, started, clip_id, 2, b"c" * 1200)
    assert response.status_code == 413 and "exceed" in response.json()["detail"]
    assert 2 not in stored.indices(settings, clip_id)


def test_chunk_index_beyond_the_cap_and_empty_chunks_are_refused(
    client: TestClient, settings: Settings, flow: tuple[panel.Started, str]
) -> None:
    started, clip_id = flow
    assert (
        panel.put_chunk(client, started, clip_id, settings.max_chunks_per_clip, b"x").status_code
        == 413
    )
    assert panel.put_chunk(client, started, clip_id, 0, b"").status_code == 400
    assert panel.put_chunk(client, started, clip_id, -1, b"x").status_code == 422


def test_checksum_header_mismatch_is_400(
    client: TestClient, settings: Settings, flow: tuple[panel.Started, str]
) -> None:
    started, clip_id = flow
    response = client.put(
        f"{API}/clips/{clip_id}/chunks/0",
        headers={**started.headers, "X-Chunk-Sha256": panel.sha256(b"something else")},
        content=b"these bytes",
    )
    assert response.status_code == 400
    good = client.put(
        f"{API}/clips/{clip_id}/chunks/0",
        headers={**started.headers, "X-Chunk-Sha256": panel.sha256(b"these bytes")},
        content=b"these bytes",
    )
    assert good.status_code == 201


def test_a_chunk_for_another_sessions_clip_is_404(
    client: TestClient, db_session: Session, settings: Settings, flow: tuple[panel.Started, str]
) -> None:
    started, clip_id = flow
    study = make_study(db_session, name="Other")
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    intruder = panel.start(client, integration, "intruder")
    panel.consent(client, intruder)
    response = panel.put_chunk(client, intruder, clip_id, 0, b"intrusion")
    assert response.status_code == 404
    assert client.get(f"{API}/clips/{clip_id}", headers=intruder.headers).status_code == 404
    finish = client.post(
        f"{API}/clips/{clip_id}/finish", headers=intruder.headers, json={"chunk_count": 1}
    )
    assert finish.status_code == 404
    assert not stored.has_video(settings, clip_id)
    # A clip id that exists nowhere is the same 404.
    unknown = panel.put_chunk(client, started, panel.new_id(), 0, b"x")
    assert unknown.status_code == 404


def test_opening_a_clip_is_idempotent_and_checks_ad_and_mime(
    client: TestClient, db_session: Session, flow: tuple[panel.Started, str]
) -> None:
    started, clip_id = flow
    assert panel.open_clip(client, started) == clip_id
    url = f"{API}/sessions/{started.session_id}/clips"
    not_in_session = client.post(
        url, headers=started.headers, json={"ad_id": 999999, "mime_type": "video/webm"}
    )
    assert not_in_session.status_code == 404
    bad_type = client.post(
        url, headers=started.headers, json={"ad_id": started.ad_ids[1], "mime_type": "image/gif"}
    )
    assert bad_type.status_code == 415
    mp4 = client.post(
        url,
        headers=started.headers,
        json={"ad_id": started.ad_ids[1], "mime_type": "video/mp4;codecs=avc1"},
    )
    assert mp4.status_code == 200 and mp4.json()["clip_id"] != clip_id


def test_finish_lists_missing_chunks_then_queues_and_enqueues(
    client: TestClient,
    db_session: Session,
    flow: tuple[panel.Started, str],
    queued_ids: QueuedIds,
) -> None:
    started, clip_id = flow
    for index in (0, 2):
        panel.put_chunk(client, started, clip_id, index, b"chunk %d" % index)
    url = f"{API}/clips/{clip_id}/finish"
    early = client.post(url, headers=started.headers, json={"chunk_count": 4})
    assert early.status_code == 409
    assert early.json()["missing"] == [1, 3]
    assert queued_ids() == []
    for index in (1, 3):
        panel.put_chunk(client, started, clip_id, index, b"chunk %d" % index)
    done = client.post(url, headers=started.headers, json={"chunk_count": 4})
    assert done.status_code == 202 and done.json() == {"status": "queued"}
    clip = _clip(db_session, clip_id)
    assert clip.status == ClipStatus.QUEUED and clip.expected_chunks == 4
    assert clip.enqueued_at is not None
    assert queued_ids() == [clip.id]
    # A replayed finish does not enqueue twice; late chunks are refused.
    assert client.post(url, headers=started.headers, json={"chunk_count": 4}).status_code == 202
    assert queued_ids() == [clip.id]
    late = panel.put_chunk(client, started, clip_id, 4, b"late")
    assert late.status_code == 409
    assert panel.put_chunk(client, started, clip_id, 3, b"chunk 3").status_code == 200


def test_finish_with_fewer_chunks_than_received_is_400(
    client: TestClient, flow: tuple[panel.Started, str]
) -> None:
    started, clip_id = flow
    for index in range(3):
        panel.put_chunk(client, started, clip_id, index, b"c")
    response = client.post(
        f"{API}/clips/{clip_id}/finish", headers=started.headers, json={"chunk_count": 2}
    )
    assert response.status_code == 400


def test_playback_events_are_idempotent_by_seq(
    client: TestClient, db_session: Session, flow: tuple[panel.Started, str]
) -> None:
    started, clip_id = flow
    url = f"{API}/clips/{clip_id}/events"
    events = [
        {"seq": 0, "kind": "start", "clip_ms": 120, "ad_ms": 0},
        {"seq": 1, "kind": "stall", "clip_ms": 4000, "ad_ms": 3880},
    ]
    assert client.post(url, headers=started.headers, json={"events": events}).json() == {
        "stored": 2
    }
    more = [*events, {"seq": 2, "kind": "resume", "clip_ms": 5000, "ad_ms": 3880}]
    assert client.post(url, headers=started.headers, json={"events": more}).json() == {"stored": 3}
    assert len(db_session.scalars(select(PlaybackEvent)).all()) == 3
    changed = [{"seq": 1, "kind": "end", "clip_ms": 4000, "ad_ms": 3880}]
    assert client.post(url, headers=started.headers, json={"events": changed}).status_code == 409
    twice = [events[0], {**events[0], "clip_ms": 1}]
    assert client.post(url, headers=started.headers, json={"events": twice}).status_code == 400
    bad_kind = [{"seq": 9, "kind": "rewind", "clip_ms": 1, "ad_ms": 1}]
    assert client.post(url, headers=started.headers, json={"events": bad_kind}).status_code == 422
    negative = [{"seq": 9, "kind": "end", "clip_ms": -1, "ad_ms": 1}]
    assert client.post(url, headers=started.headers, json={"events": negative}).status_code == 422


def test_events_after_finish_are_409(client: TestClient, flow: tuple[panel.Started, str]) -> None:
    started, clip_id = flow
    panel.put_chunk(client, started, clip_id, 0, b"c")
    client.post(f"{API}/clips/{clip_id}/finish", headers=started.headers, json={"chunk_count": 1})
    response = client.post(
        f"{API}/clips/{clip_id}/events",
        headers=started.headers,
        json={"events": [{"seq": 5, "kind": "end", "clip_ms": 1, "ad_ms": 1}]},
    )
    assert response.status_code == 409


def test_chunk_rows_match_files(
    client: TestClient, db_session: Session, settings: Settings, flow: tuple[panel.Started, str]
) -> None:
    started, clip_id = flow
    panel.put_chunk(client, started, clip_id, 0, b"abc")
    row = db_session.scalar(select(Chunk))
    assert row is not None and row.sha256 == panel.sha256(b"abc") and row.bytes == 3


def test_postgres_stores_a_new_chunk_in_one_statement(
    client: TestClient, db_session: Session, settings: Settings, flow: tuple[panel.Started, str]
) -> None:
    """The hot path takes new chunks itself and leaves everything else to the careful path."""
    from web.panel.fastpath import store_chunk_fast
    from web.panel.tokens import session_from_token

    started, clip_id = flow
    sid = session_from_token(settings, started.token)
    clip = uuid.UUID(clip_id)

    def received(data: bytes) -> storage.ReceivedChunk:
        return storage.ReceivedChunk(data, panel.sha256(data), len(data))

    assert store_chunk_fast(db_session, settings, sid, clip, 0, received(b"new")) is True
    assert stored.plain(db_session, settings, clip_id, 0) == b"new"
    assert _clip(db_session, clip_id).chunks_received == 1
    # A replay, another session, or a finished clip: not for the hot path.
    assert store_chunk_fast(db_session, settings, sid, clip, 0, received(b"new")) is False
    assert store_chunk_fast(db_session, settings, uuid.uuid4(), clip, 1, received(b"x")) is False
    assert 1 not in stored.indices(settings, clip_id)
