"""Dependencies of the panelist API: settings, database session and bearer session token,
all async so the hot upload path pays no thread hop for them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from web.deps import get_session
from web.errors import Conflict, Forbidden, Unauthorized
from web.panel import tokens
from web.settings import Settings

T = TypeVar("T")


async def call_blocking(fn: Callable[..., T], **kwargs: Any) -> T:
    """Run a blocking service call off the event loop; a race lost to another request is 409."""
    return await run_in_threadpool(_losing_races_politely, fn, kwargs)


def _losing_races_politely(fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
    """A row this request wrote was deleted or changed by another one meanwhile (a chunk racing
    a withdrawal or a superseding start, most easily on SQLite, which has no row locks): the
    request is refused as a conflict, never a 500. Nothing of it was committed."""
    try:
        return fn(**kwargs)
    except (StaleDataError, ObjectDeletedError) as exc:
        session = kwargs.get("session")
        if isinstance(session, Session):
            session.rollback()
        raise Conflict(
            "This session or clip was changed by another request meanwhile (ended, erased or "
            "withdrawn); ask for its state again"
        ) from exc


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


async def token_session(request: Request, settings: SettingsDep) -> uuid.UUID:
    """The session named by the bearer token; 401 if missing, forged or expired.

    The header is read here, not declared (web.openapi documents it): see `optional_header`."""
    authorization = request.headers.get("authorization")
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("Missing session token (Authorization: Bearer <token>)")
    return verified_session(settings, authorization[7:].strip())


def verified_session(settings: Settings, token: str) -> uuid.UUID:
    """The session a bearer token names, wherever it came from; 401 if forged or expired."""
    try:
        return tokens.session_from_token(settings, token)
    except tokens.InvalidToken as exc:
        raise Unauthorized(str(exc)) from exc


TokenSession = Annotated[uuid.UUID, Depends(token_session)]


def same_session(token_sid: uuid.UUID, path_sid: uuid.UUID) -> uuid.UUID:
    if token_sid != path_sid:
        raise Forbidden("This token is for another session")
    return token_sid
