"""The panelist API's clip routes (docs/panelist-api.md): open a clip of an ad, upload its
chunks and playback events, finish it. The session routes are web/panel/api.py; well-formed
chunk uploads are answered before the generic stack by web/panel/chunk_route.py."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from web.clips.lifecycle import mark_enqueued
from web.clips.queue import enqueue_analysis
from web.openapi import documented, optional_header
from web.panel import answers, chunks, uploads
from web.panel.deps import SessionDep, SettingsDep, TokenSession, call_blocking, same_session
from web.panel.schemas import (
    ChunkOut,
    ClipCreate,
    ClipOut,
    EventsIn,
    EventsOut,
    FinishIn,
    StatusOut,
)

router = APIRouter(prefix="/api/v1/panel", tags=["panel"])


@router.post("/sessions/{session_id}/clips", response_model=ClipOut)
async def open_clip(
    session_id: uuid.UUID,
    body: ClipCreate,
    sid: TokenSession,
    session: SessionDep,
    settings: SettingsDep,
) -> ClipOut:
    """Open the clip of one ad of the session (idempotent per session and ad; consent first),
    with the chunk indices already received; `restart` records the ad again once."""
    state = await call_blocking(
        uploads.open_clip,
        session=session,
        settings=settings,
        session_public_id=same_session(sid, session_id),
        body=body,
    )
    return answers.clip_out(state)


@router.get("/clips/{clip_id}", response_model=ClipOut)
async def get_clip(clip_id: uuid.UUID, sid: TokenSession, session: SessionDep) -> ClipOut:
    """A clip of the token's session: its status and the chunk indices received (a recorder
    resuming an upload sends only the others)."""
    state = await call_blocking(
        uploads.clip_state, session=session, session_public_id=sid, clip_public_id=clip_id
    )
    return answers.clip_out(state)


@router.put(
    "/clips/{clip_id}/chunks/{index}",
    response_model=ChunkOut,
    status_code=201,
    responses=documented(413),
    openapi_extra={"parameters": [optional_header("x-chunk-sha256")]},
)
async def put_chunk(
    clip_id: uuid.UUID,
    index: Annotated[int, Path(ge=0)],
    request: Request,
    response: Response,
    sid: TokenSession,
    session: SessionDep,
    settings: SettingsDep,
) -> ChunkOut:
    """Receive the body (in memory, sealed before it is stored), then store it idempotently by
    (clip, index). A well-formed request is answered before it gets here, by the same checks
    and services outside the generic stack (web/panel/chunk_route.py); this route documents the
    endpoint and answers what that one passes on (a malformed path or query, SQLite)."""
    received = await chunks.receive_chunk(
        request.stream(),
        settings,
        request.headers.get("content-length"),
        request.headers.get("x-chunk-sha256"),  # read here: see optional_header
    )
    created = await call_blocking(
        chunks.store_chunk,
        session=session,
        settings=settings,
        session_public_id=sid,
        clip_public_id=clip_id,
        index=index,
        received=received,
    )
    response.status_code = 201 if created else 200
    return ChunkOut(index=index, bytes=received.size)


@router.post("/clips/{clip_id}/events", response_model=EventsOut, responses=documented(413))
async def post_events(
    clip_id: uuid.UUID,
    body: EventsIn,
    sid: TokenSession,
    session: SessionDep,
    settings: SettingsDep,
) -> EventsOut:
    """Playback events of the ad while it was recorded (start, pause, stall, hidden, end...),
    from which the server judges how much of the ad was seen; at most 1000 per call."""
    stored = await call_blocking(
        uploads.store_events,
        session=session,
        settings=settings,
        session_public_id=sid,
        clip_public_id=clip_id,
        body=body,
    )
    return EventsOut(stored=stored)


@router.post(
    "/clips/{clip_id}/finish",
    status_code=202,
    response_model=StatusOut,
    response_model_exclude_none=True,
)
async def finish(
    clip_id: uuid.UUID,
    body: FinishIn,
    sid: TokenSession,
    session: SessionDep,
    settings: SettingsDep,
) -> StatusOut:
    """Queue the clip; the task is sent only after the commit, and a broker outage loses nothing."""
    finished = await call_blocking(
        uploads.finish_clip,
        session=session,
        session_public_id=sid,
        clip_public_id=clip_id,
        chunk_count=body.chunk_count,
    )
    if finished.needs_enqueue and await call_blocking(
        enqueue_analysis, settings=settings, clip_id=finished.clip_id
    ):
        await call_blocking(mark_enqueued, session=session, clip_id=finished.clip_id)
    return StatusOut(status=finished.status)
