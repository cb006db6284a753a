"""The panelist API (docs/panelist-api.md): JSON under /api/v1/panel, bearer session tokens."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.orm import Session

from web.deps import get_session
from web.panel import service, storage, tokens, uploads
from web.panel.errors import PanelError
from web.panel.queue import enqueue_analysis
from web.panel.schemas import (
    ChunkOut,
    ClipCreate,
    ClipOut,
    ConsentIn,
    ErasedOut,
    EraseIn,
    EventsIn,
    EventsOut,
    FinishIn,
    IntegrationOut,
    SessionEnd,
    SessionOut,
    SessionStart,
    StatusOut,
)
from web.settings import Settings
from web.studies.models import Ad

router = APIRouter(prefix="/api/v1/panel", tags=["panel"])
T = TypeVar("T")


def error_response(exc: PanelError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse({"detail": exc.detail, **exc.extra}, exc.status_code, headers=headers)


async def _call(fn: Callable[..., T], **kwargs: Any) -> T:
    """Run a blocking service call off the event loop."""
    return await run_in_threadpool(fn, **kwargs)


async def panel_settings(request: Request) -> Settings:
    """The app's settings (async: no thread hop on the hot upload path)."""
    settings: Settings = request.app.state.settings
    return settings


async def panel_db(request: Request) -> AsyncIterator[Session]:
    """A database session for one request, without the thread hops a sync dependency costs.

    Honours a test's override of `web.deps.get_session` (the rolled-back test transaction).
    """
    override = request.app.dependency_overrides.get(get_session)
    if override is not None:
        provided = override()
        session: Session = next(provided)
        try:
            yield session
        finally:
            provided.close()
        return
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        if session.in_transaction():  # ends with a ROLLBACK round trip: off the event loop
            await run_in_threadpool(session.close)
        else:
            session.close()


SettingsDep = Annotated[Settings, Depends(panel_settings)]
SessionDep = Annotated[Session, Depends(panel_db)]


async def token_session(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> uuid.UUID:
    """The session named by the bearer token; 401 if missing, forged or expired."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise PanelError(401, "Missing session token (Authorization: Bearer <token>)")
    try:
        return tokens.session_from_token(settings, authorization[7:].strip())
    except tokens.InvalidToken as exc:
        raise PanelError(401, str(exc)) from exc


TokenSession = Annotated[uuid.UUID, Depends(token_session)]


def same_session(token_sid: uuid.UUID, path_sid: uuid.UUID) -> uuid.UUID:
    if token_sid != path_sid:
        raise PanelError(403, "This token is for another session")
    return token_sid


def _media_url(request: Request, settings: Settings) -> service.MediaUrl:
    def build(ad: Ad, kind: str) -> str:
        url = request.url_for(f"ad_{kind}", ad_id=ad.id)
        return str(url.include_query_params(token=tokens.media_token(settings, ad.id)))

    return build


@router.get("/integrations/{public_key}", response_model=IntegrationOut)
async def get_integration(
    public_key: str, session: SessionDep, locale: Annotated[str | None, Query(max_length=10)] = None
) -> IntegrationOut:
    return await _call(
        service.integration_info, session=session, public_key=public_key, locale=locale
    )


@router.post("/sessions", response_model=SessionOut, status_code=201)
async def start_session(
    body: SessionStart, request: Request, session: SessionDep, settings: SettingsDep
) -> SessionOut:
    return await _call(
        service.start_session,
        session=session,
        settings=settings,
        body=body,
        media_url=_media_url(request, settings),
    )


@router.post(
    "/sessions/{session_id}/consent", response_model=StatusOut, response_model_exclude_none=True
)
async def consent(
    session_id: uuid.UUID,
    body: ConsentIn,
    sid: TokenSession,
    session: SessionDep,
    settings: SettingsDep,
) -> StatusOut:
    return await _call(
        service.record_consent,
        session=session,
        settings=settings,
        session_public_id=same_session(sid, session_id),
        body=body,
    )


@router.post("/sessions/{session_id}/clips", response_model=ClipOut)
async def open_clip(
    session_id: uuid.UUID, body: ClipCreate, sid: TokenSession, session: SessionDep
) -> ClipOut:
    return await _call(
        uploads.open_clip,
        session=session,
        session_public_id=same_session(sid, session_id),
        body=body,
    )


@router.get("/clips/{clip_id}", response_model=ClipOut)
async def get_clip(clip_id: uuid.UUID, sid: TokenSession, session: SessionDep) -> ClipOut:
    return await _call(
        uploads.clip_state, session=session, session_public_id=sid, clip_public_id=clip_id
    )


@router.put("/clips/{clip_id}/chunks/{index}", response_model=ChunkOut, status_code=201)
async def put_chunk(
    clip_id: uuid.UUID,
    index: Annotated[int, Path(ge=0)],
    request: Request,
    response: Response,
    sid: TokenSession,
    session: SessionDep,
    settings: SettingsDep,
    x_chunk_sha256: Annotated[str | None, Header()] = None,
) -> ChunkOut:
    """Stream the body to a temp file, then store it idempotently by (clip, index)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_chunk_bytes:
        raise PanelError(413, f"A chunk is at most {settings.max_chunk_bytes} bytes")
    try:
        received = await storage.receive(request.stream(), settings, settings.max_chunk_bytes)
    except storage.ChunkTooLarge as exc:
        raise PanelError(413, f"A chunk is at most {settings.max_chunk_bytes} bytes") from exc
    if x_chunk_sha256 and x_chunk_sha256.lower() != received.sha256:
        storage.discard(received)
        raise PanelError(400, "X-Chunk-Sha256 does not match the bytes received")
    created, out = await _call(
        uploads.store_chunk,
        session=session,
        settings=settings,
        session_public_id=sid,
        clip_public_id=clip_id,
        index=index,
        received=received,
    )
    response.status_code = 201 if created else 200
    return out


@router.post("/clips/{clip_id}/events", response_model=EventsOut)
async def post_events(
    clip_id: uuid.UUID, body: EventsIn, sid: TokenSession, session: SessionDep
) -> EventsOut:
    stored = await _call(
        uploads.store_events,
        session=session,
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
    finished = await _call(
        uploads.finish_clip,
        session=session,
        session_public_id=sid,
        clip_public_id=clip_id,
        chunk_count=body.chunk_count,
    )
    if finished.needs_enqueue and await _call(
        enqueue_analysis, settings=settings, clip_id=finished.clip_id
    ):
        await _call(uploads.mark_enqueued, session=session, clip_id=finished.clip_id)
    return StatusOut(status=finished.status.value)


@router.post(
    "/sessions/{session_id}/end", response_model=StatusOut, response_model_exclude_none=True
)
async def end_session(
    session_id: uuid.UUID,
    body: SessionEnd,
    sid: TokenSession,
    session: SessionDep,
    settings: SettingsDep,
) -> StatusOut:
    return await _call(
        service.end_session,
        session=session,
        settings=settings,
        session_public_id=same_session(sid, session_id),
        body=body,
    )


@router.post(
    "/sessions/{session_id}/withdraw", response_model=StatusOut, response_model_exclude_none=True
)
async def withdraw(
    session_id: uuid.UUID, sid: TokenSession, session: SessionDep, settings: SettingsDep
) -> StatusOut:
    return await _call(
        service.withdraw,
        session=session,
        settings=settings,
        session_public_id=same_session(sid, session_id),
    )


@router.post("/erase", response_model=ErasedOut)
async def erase(body: EraseIn, session: SessionDep, settings: SettingsDep) -> ErasedOut:
    erased = await _call(
        service.erase_by_receipt, session=session, settings=settings, receipt_code=body.receipt_code
    )
    return ErasedOut(erased=erased)


def _ad_file(session: Any, settings: Settings, ad_id: int, token: str, kind: str) -> FileResponse:
    try:
        tokens.check_media_token(settings, token, ad_id)
    except tokens.InvalidToken as exc:
        raise PanelError(401, str(exc)) from exc
    ad = session.get(Ad, ad_id)
    key = None if ad is None else (ad.storage_key if kind == "video" else ad.poster_key)
    if ad is None or key is None:
        raise PanelError(404, f"This ad has no {kind}")
    root = settings.ads_dir.resolve()
    path = (root / key).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise PanelError(404, f"The ad's {kind} file is missing")
    media_type = ad.content_type if kind == "video" else None
    # Range requests are answered by FileResponse, so <video> can seek.
    return FileResponse(
        path, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"}
    )


@router.get("/ads/{ad_id}/video", name="ad_video")
async def ad_video(
    ad_id: int, session: SessionDep, settings: SettingsDep, token: Annotated[str, Query()]
) -> FileResponse:
    """The ad for a panelist's <video> tag; the signed token in the query string stands in for
    the bearer header a media element cannot send."""
    return await _call(
        _ad_file, session=session, settings=settings, ad_id=ad_id, token=token, kind="video"
    )


@router.get("/ads/{ad_id}/poster", name="ad_poster")
async def ad_poster(
    ad_id: int, session: SessionDep, settings: SettingsDep, token: Annotated[str, Query()]
) -> FileResponse:
    return await _call(
        _ad_file, session=session, settings=settings, ad_id=ad_id, token=token, kind="poster"
    )
