"""`PUT /api/v1/panel/clips/{clip_id}/chunks/{index}` outside the generic stack.

Chunk uploads are most of the requests a fielded study makes (one a second per recording
panelist), and each crossed every middleware layer, FastAPI's dependency solving and an ORM
session before one fixed statement did the work. This plain ASGI handler sits in front of all
of that (`create_app` adds it outermost) and does only what a chunk needs: the bearer token,
the size and checksum checks (`chunks.receive_chunk`), then, in a worker thread, the one
statement on a raw pooled connection with the chunk sealed and stored before the commit
(`chunks.store_chunk_pooled`). Everything else goes where it always went:

- a new chunk the statement does not take (a replay, a refusal, another session's clip): the
  careful path, `chunks.store_chunk` on an ORM session, which says exactly what is wrong;
- a request that is not well formed (a clip id that is not a canonical UUID, an index that is
  not a 32-bit non-negative integer, a query string, another method) and every request on
  SQLite: the FastAPI route in web/panel/clip_api.py, which also keeps the OpenAPI entry, so its
  422 answers are FastAPI's own.

Answers are the route's: `{"index", "bytes"}` with 201 (stored) or 200 (a replay), a refusal in
the one error shape of web/handlers.py, and the panel API's CORS header (web/panel/cors.py).
Under a test's override of `web.deps.get_session` every database call runs on that session
(the test's rolled-back transaction), as `web.panel.deps.panel_db` does.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from web.clips.storage import ReceivedChunk
from web.deps import get_session
from web.edge import INT_MAX
from web.errors import DomainError, Unauthorized
from web.panel import chunks
from web.panel.deps import call_blocking, verified_session
from web.refusals import error_body, error_headers, status_of
from web.settings import Settings

# The path as web/panel/clip_api.py declares it, narrowed to what needs no FastAPI validation: a
# canonical UUID and a decimal index (checked against 32 bits below, as web/edge.py does).
CHUNK_PATH = re.compile(
    r"/api/v1/panel/clips/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12})/chunks/([0-9]{1,10})"
)
_JSON = (b"content-type", b"application/json")
# web/panel/cors.py: any origin, no credentials, so a simple answer carries "*".
_CORS = (b"access-control-allow-origin", b"*")


class ChunkRoute:
    """ASGI middleware answering well-formed chunk uploads itself; all else goes to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = _chunk_target(scope)
        if target is None:
            await self.app(scope, receive, send)
            return
        application: FastAPI = scope["app"]
        settings: Settings = application.state.settings
        if application.dependency_overrides.get(get_session) is None and (
            application.state.engine.dialect.name != "postgresql"
        ):
            await self.app(scope, receive, send)  # the careful path does everything on SQLite
            return
        headers = _headers(scope)
        extra = [_CORS] if b"origin" in headers else []
        try:
            status, answer = await _put_chunk(application, settings, headers, receive, *target)
        except ClientDisconnect:
            return  # nothing was stored, and nobody is left to answer
        except DomainError as exc:
            status, answer = status_of(exc), error_body(exc)
            extra += [
                (k.lower().encode(), v.encode()) for k, v in (error_headers(exc) or {}).items()
            ]
        body = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [_JSON, (b"content-length", str(len(body)).encode()), *extra],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _chunk_target(scope: Scope) -> tuple[uuid.UUID, int] | None:
    """(clip id, index) of a well-formed chunk upload, or None for anything else."""
    if scope["type"] != "http" or scope["method"] != "PUT" or scope.get("query_string"):
        return None
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    matched = CHUNK_PATH.fullmatch(path)
    if matched is None or int(matched[2]) > INT_MAX:
        return None
    return uuid.UUID(matched[1]), int(matched[2])


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name (ASGI servers send them lower-cased)."""
    return dict(scope["headers"])


async def _put_chunk(
    application: FastAPI,
    settings: Settings,
    headers: dict[bytes, bytes],
    receive: Receive,
    clip_id: uuid.UUID,
    index: int,
) -> tuple[int, dict[str, Any]]:
    """The route of web/panel/clip_api.py in the same order: token, body, then the store."""
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    if not authorization.lower().startswith("bearer "):
        raise Unauthorized("Missing session token (Authorization: Bearer <token>)")
    session_id = verified_session(settings, authorization[7:].strip())
    declared = headers.get(b"content-length")
    checksum = headers.get(b"x-chunk-sha256")
    received = await chunks.receive_chunk(
        _body(receive),
        settings,
        declared.decode("latin-1") if declared is not None else None,
        checksum.decode("latin-1") if checksum is not None else None,
    )
    created = await call_blocking(
        _store,
        application=application,
        settings=settings,
        session_id=session_id,
        clip_id=clip_id,
        index=index,
        received=received,
    )
    # web/panel/clip_api.py's ChunkOut, written out: the hot path builds no model.
    return (201 if created else 200), {"index": index, "bytes": received.size}


def _store(
    *,
    application: FastAPI,
    settings: Settings,
    session_id: uuid.UUID,
    clip_id: uuid.UUID,
    index: int,
    received: ReceivedChunk,
) -> bool:
    """The one statement on a raw pooled connection; the careful path when it takes nothing.
    True when the chunk is new, False for a replay."""
    testing = application.dependency_overrides.get(get_session) is not None
    if not testing and chunks.store_chunk_pooled(
        application.state.engine, settings, session_id, clip_id, index, received
    ):
        return True
    with _session(application) as session:
        return chunks.store_chunk(
            session=session,
            settings=settings,
            session_public_id=session_id,
            clip_public_id=clip_id,
            index=index,
            received=received,
        )


@contextmanager
def _session(application: FastAPI) -> Iterator[Session]:
    """An ORM session for the careful path: the app's, or a test's override."""
    override = application.dependency_overrides.get(get_session)
    if override is None:
        with application.state.session_factory() as session:
            yield session
        return
    provided = override()
    try:
        yield next(provided)
    finally:
        provided.close()


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    """The request body as it arrives (Starlette's `Request.stream` without the Request)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        piece = message.get("body", b"")
        if piece:
            yield piece
        if not message.get("more_body", False):
            return
