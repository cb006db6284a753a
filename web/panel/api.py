"""The panelist API (docs/panelist-api.md): JSON under /api/v1/panel, bearer session tokens.
Here a session's routes (integration, start, consent, end, presence, withdraw, erase); a
clip's (open, chunks, events, finish) are web/panel/clip_api.py."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from web.clips import storage
from web.clips.lifecycle import mark_enqueued
from web.clips.queue import enqueue_analysis
from web.errors import TooLarge, Unauthorized
from web.openapi import documented
from web.panel import answers, endings, entry, presence, service, starts, tokens
from web.panel.deps import (
    SessionDep,
    SettingsDep,
    TokenSession,
    call_blocking,
    same_session,
    verified_session,
)
from web.panel.locales import LANGUAGE_TAG_MAX_CHARS, LANGUAGE_TAG_PATTERN
from web.panel.schemas import (
    ConsentIn,
    ErasedOut,
    EraseIn,
    IntegrationOut,
    PresenceIn,
    PresenceOut,
    SessionEnd,
    SessionOut,
    SessionStart,
    StatusOut,
)
from web.ratelimit import limit_erase_attempts, limit_session_starts
from web.settings import Settings
from web.studies.models import Ad

router = APIRouter(prefix="/api/v1/panel", tags=["panel"])
# A presence message lists at most 20 clips of 100 events: sendBeacon's own limit is 64 KiB.
MAX_PRESENCE_BYTES = 64 * 1024


def _media_url(request: Request, settings: Settings) -> answers.MediaUrl:
    def build(ad: Ad, kind: str) -> str:
        url = request.url_for(f"ad_{kind}", ad_id=ad.id)
        return str(url.include_query_params(token=tokens.media_token(settings, ad.id)))

    return build


def _status_out(state: service.SessionState) -> StatusOut:
    return StatusOut(status=state.status, receipt_code=state.receipt_code)


@router.get("/ping", status_code=204)
async def ping() -> Response:
    """The recorder's probe while uploads wait: the server answers, nothing else is touched."""
    return Response(status_code=204)


@router.get("/integrations/{public_key}", response_model=IntegrationOut)
async def get_integration(
    public_key: str,
    session: SessionDep,
    locale: Annotated[
        str | None,
        Query(min_length=2, max_length=LANGUAGE_TAG_MAX_CHARS, pattern=LANGUAGE_TAG_PATTERN),
    ] = None,
) -> IntegrationOut:
    """What the recorder shows before the camera is touched: the study's name, whether it takes
    panelists (`intake`), and the integration's consent text in the best of its locales for
    `locale` (a language tag), with the locales it has."""
    info = await call_blocking(
        entry.integration_info, session=session, public_key=public_key, locale=locale
    )
    return answers.integration_out(info)


@router.post(
    "/sessions", response_model=SessionOut, status_code=201, responses=documented(403, 404, 429)
)
async def start_session(
    body: SessionStart, request: Request, session: SessionDep, settings: SettingsDep
) -> SessionOut:
    """Start (or resume) a panelist's session in an integration: answers its bearer token, the
    consent text, and the ads to show in order. 409 `study_closed` when the integration is
    paused or closed; 403 when a signed respondent id's signature does not hold."""
    await call_blocking(limit_session_starts, request=request, integration_key=body.integration)
    started = await call_blocking(
        starts.start_session, session=session, settings=settings, body=body
    )
    return answers.session_out(started, _media_url(request, settings))


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
    """The panelist's decision (agree or decline) on the exact consent text version shown,
    named by its id and sha256; agreeing answers the receipt code that erases the data later."""
    state = await call_blocking(
        service.record_consent,
        session=session,
        settings=settings,
        session_public_id=same_session(sid, session_id),
        body=body,
    )
    return _status_out(state)


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
    """End the session with the recorder's outcome (`complete`, `no_camera`, `failed`); the
    answer is the status stored (a `complete` with no usable clip is stored `incomplete`)."""
    state = await call_blocking(
        endings.end_session,
        session=session,
        settings=settings,
        session_public_id=same_session(sid, session_id),
        body=body,
    )
    return _status_out(state)


@router.post(
    "/sessions/{session_id}/presence",
    response_model=PresenceOut,
    responses=documented(401, 403, 404, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": PresenceIn.model_json_schema()}
                for media in ("text/plain", "application/json")
            },
        }
    },
)
async def presence_update(
    session_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> PresenceOut:
    """The recorder's beacon when its page is hidden or goes away, and its call when the page
    is shown again (web/panel/presence.py). navigator.sendBeacon sends no headers and, to stay
    a simple cross-origin request, text/plain: so the body is read whatever its type, and the
    session's bearer token may be in it; it is checked exactly as for a chunk upload."""
    try:
        received = await storage.receive(request.stream(), MAX_PRESENCE_BYTES)
    except storage.ChunkTooLarge as exc:
        raise TooLarge(f"A presence message is at most {MAX_PRESENCE_BYTES} bytes") from exc
    try:
        body = PresenceIn.model_validate_json(received.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from exc
    if body.token:
        sid = verified_session(settings, body.token)
    elif authorization and authorization.lower().startswith("bearer "):
        sid = verified_session(settings, authorization[7:].strip())
    else:
        raise Unauthorized("Missing session token (in the body, or Authorization: Bearer)")
    if body.withdraw:  # a withdrawal the page could not send before it went away
        await call_blocking(
            endings.withdraw,
            session=session,
            settings=settings,
            session_public_id=same_session(sid, session_id),
        )
        return PresenceOut(taken=True)
    outcome = await call_blocking(
        presence.update,
        session=session,
        settings=settings,
        session_public_id=same_session(sid, session_id),
        body=body,
    )
    # As finish does: after the commit; the requeue job covers a failed hand-over.
    for clip_id in outcome.queued:
        if await call_blocking(enqueue_analysis, settings=settings, clip_id=clip_id):
            await call_blocking(mark_enqueued, session=session, clip_id=clip_id)
    return PresenceOut(taken=outcome.taken, queued=len(outcome.queued), abandoned=outcome.abandoned)


@router.post(
    "/sessions/{session_id}/withdraw", response_model=StatusOut, response_model_exclude_none=True
)
async def withdraw(
    session_id: uuid.UUID, sid: TokenSession, session: SessionDep, settings: SettingsDep
) -> StatusOut:
    """The panelist stops and withdraws: every clip, chunk and curve of the session, and its
    share of the aggregates, are deleted now."""
    state = await call_blocking(
        endings.withdraw,
        session=session,
        settings=settings,
        session_public_id=same_session(sid, session_id),
    )
    return _status_out(state)


@router.post("/erase", response_model=ErasedOut, responses=documented(404, 429))
async def erase(
    body: EraseIn, request: Request, session: SessionDep, settings: SettingsDep
) -> ErasedOut:
    """Erase a past session's data by its receipt code (the panelist's right, no login needed),
    and for a signed respondent their other sessions in the study; 404 for an unknown code,
    attempts rate-limited."""
    await call_blocking(limit_erase_attempts, request=request)
    erased_at = await call_blocking(
        endings.erase_by_receipt, session=session, settings=settings, receipt_code=body.receipt_code
    )
    return ErasedOut(erased=True, erased_at=erased_at)
