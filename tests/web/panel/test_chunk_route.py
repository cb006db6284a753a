"""The chunk route outside the generic stack (web/panel/chunk_route.py): it answers well-formed
uploads alone, on a raw pooled connection with committed rows, exactly as the FastAPI route
answers them; what it does not take reaches that route."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from tests.support import panel
from tests.support.committed import Committed, committed  # noqa: F401  (fixture)
from tests.support.factories import make_ad, make_integration, make_study
from web.app import create_app
from web.clips import storage
from web.clips.models import Chunk, Clip
from web.panel import chunks
from web.panel.chunk_route import ChunkRoute
from web.settings import Settings

API = panel.API


@pytest.fixture
def live(
    settings: Settings,
    committed: tuple[Committed, Session],  # noqa: F811
) -> Iterator[tuple[TestClient, FastAPI, Session]]:
    """The app on the real database (no test override): the route's production branch."""
    _helper, session = committed
    study = make_study(session)
    make_ad(session, study, duration_s=2.0)  # bound: (2 + 10) s x 4 chunks/s = 48 chunks
    session.commit()
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, app, session


def _started(client: TestClient, session: Session) -> tuple[panel.Started, str]:
    study = make_study(session, name="Live")
    make_ad(session, study, duration_s=2.0)
    integration = make_integration(session, study)
    session.commit()
    started = panel.start(client, integration)
    panel.consent(client, started)
    return started, panel.open_clip(client, started)


def _alone(app: FastAPI) -> TestClient:
    """The chunk route with nothing behind it: a request it passes on is a 599."""

    async def nothing_behind(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    route = ChunkRoute(nothing_behind)

    async def with_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["app"] = app  # as Starlette sets it before its middleware
        await route(scope, receive, send)

    return TestClient(with_app)


def test_committed_chunks_go_through_the_pooled_connection_alone(
    live: tuple[TestClient, FastAPI, Session],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, app, session = live
    started, clip_id = _started(client, session)
    alone = _alone(app)
    careful: list[int] = []
    real_store_chunk = chunks.store_chunk

    def counted_store_chunk(**kwargs: Any) -> Any:
        careful.append(kwargs["index"])
        return real_store_chunk(**kwargs)

    monkeypatch.setattr(chunks, "store_chunk", counted_store_chunk)
    body = b"\x1a\x45\xdf\xa3 first second"
    first = alone.put(
        f"{API}/clips/{clip_id}/chunks/0",
        content=body,
        headers={
            **started.headers,
            "X-Chunk-Sha256": panel.sha256(body),
            "Origin": "https://s.example",
        },
    )
    assert first.status_code == 201, first.text
    assert first.json() == {"index": 0, "bytes": len(body)}
    assert first.headers["access-control-allow-origin"] == "*"
    # Committed: another connection sees the row, and the store holds the sealed chunk.
    clip = session.scalar(select(Clip).where(Clip.public_id == uuid.UUID(clip_id)))
    assert clip is not None and clip.chunks_received == 1 and clip.bytes_received == len(body)
    row = session.scalar(select(Chunk).where(Chunk.clip_id == clip.id))
    assert row is not None and row.sha256 == panel.sha256(body)
    assert storage.stored_indices(settings, clip_id) == [0]
    assert careful == []  # the one statement on the pooled connection took it
    # A replay takes the careful path (an ORM session), still without the generic stack.
    assert (
        alone.put(
            f"{API}/clips/{clip_id}/chunks/0", content=body, headers=started.headers
        ).status_code
        == 200
    )
    clash = alone.put(f"{API}/clips/{clip_id}/chunks/0", content=b"other", headers=started.headers)
    assert clash.status_code == 409
    assert clash.json() == {
        "detail": "Chunk 0 was already stored with different bytes",
        "code": "conflict",
    }
    # The clip's bound (web/clips/bounds.py): 48 chunks for an ad of 2 s.
    past = alone.put(f"{API}/clips/{clip_id}/chunks/48", content=b"x", headers=started.headers)
    assert past.status_code == 413 and past.json()["code"] == "too_large"
    assert "48 chunks" in past.json()["detail"]
    assert (
        alone.put(
            f"{API}/clips/{clip_id}/chunks/47", content=b"x", headers=started.headers
        ).status_code
        == 201
    )
    assert storage.stored_indices(settings, clip_id) == [0, 47]
    assert careful == [0, 0, 48]


def test_refusals_in_the_one_error_shape(
    live: tuple[TestClient, FastAPI, Session], settings: Settings
) -> None:
    client, app, session = live
    started, clip_id = _started(client, session)
    alone = _alone(app)
    url = f"{API}/clips/{clip_id}/chunks/0"
    missing = alone.put(url, content=b"x")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["code"] == "unauthorized"
    forged = alone.put(url, content=b"x", headers={"Authorization": "Bearer nonsense"})
    assert forged.status_code == 401
    wrong = alone.put(
        url, content=b"abc", headers={**started.headers, "X-Chunk-Sha256": panel.sha256(b"abd")}
    )
    assert wrong.json() == {
        "detail": "X-Chunk-Sha256 does not match the bytes received",
        "code": "invalid",
    }
    assert wrong.status_code == 400
    settings.max_chunk_bytes = 10
    big = alone.put(url, content=b"x" * 11, headers=started.headers)
    assert big.status_code == 413
    assert big.json() == {"detail": "A chunk is at most 10 bytes", "code": "too_large"}
    assert alone.put(url, content=b"", headers=started.headers).status_code == 400
    other = alone.put(f"{API}/clips/{uuid.uuid4()}/chunks/0", content=b"x", headers=started.headers)
    assert other.status_code == 404 and other.json()["code"] == "not_found"
    assert storage.stored_indices(settings, clip_id) == []


@pytest.mark.parametrize(
    "path",
    [
        "/clips/not-a-uuid/chunks/0",
        "/clips/{clip}/chunks/-1",
        "/clips/{clip}/chunks/2147483648",
        "/clips/{clip}/chunks/0?x=1",
        "/clips/{clip_hex}/chunks/0",
        "/clips/{clip}/chunks",
        "/clips/{clip}",
    ],
)
def test_what_is_not_well_formed_is_passed_on(
    live: tuple[TestClient, FastAPI, Session], path: str
) -> None:
    """FastAPI's own validation answers these (its 422 shape), so they go to its route."""
    _client, app, _session = live
    clip = uuid.uuid4()
    url = API + path.format(clip=clip, clip_hex=clip.hex)
    assert _alone(app).put(url, content=b"x").status_code == 599
    assert _alone(app).post(f"{API}/clips/{clip}/chunks/0", content=b"x").status_code == 599


def test_the_generic_route_answers_what_is_passed_on(client: TestClient) -> None:
    """The FastAPI route behind it keeps its answers (and the OpenAPI entry)."""
    response = client.put(f"{API}/clips/{uuid.uuid4()}/chunks/2147483648", content=b"x")
    assert response.status_code == 422  # the app-wide edge guard (web/edge.py), as before
    assert response.json()["detail"][0]["type"] == "integer_range"
    schema = client.get("/openapi.json").json()
    assert "put" in schema["paths"][f"{API}/clips/{{clip_id}}/chunks/{{index}}"]
