"""The app's error answers, registered by `create_app`: a refused request (a `DomainError`) gets
its kind's status, once, here, with the one JSON shape for API clients and the error page for a
browser; an HTTP error or a malformed address gets a readable page for a browser, while API
clients keep JSON."""

from __future__ import annotations

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import inspect
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from web.accounts.auth import user_from_cookie
from web.cookies import COOKIE_NAME
from web.errors import DomainError
from web.pages import plain_message, render, wants_html
from web.refusals import CODE_OF_STATUS, error_body, error_headers, status_of
from web.settings import Settings


async def domain_error(request: Request, exc: Exception) -> Response:
    """A refused request: JSON for the API, the error page for a browser."""
    assert isinstance(exc, DomainError)
    status, headers = status_of(exc), error_headers(exc)
    if not wants_html(request):
        return JSONResponse(error_body(exc), status, headers=headers)
    http = StarletteHTTPException(status, exc.message, headers)
    return await run_in_threadpool(_error_page, request, http)


async def html_error_page(request: Request, exc: Exception) -> Response:
    """Browsers get a readable error page; API clients keep FastAPI's JSON errors."""
    assert isinstance(exc, StarletteHTTPException)
    if not wants_html(request):
        response = await http_exception_handler(request, exc)
        if isinstance(response, JSONResponse):
            body = {"detail": exc.detail, "code": CODE_OF_STATUS.get(exc.status_code, "error")}
            return JSONResponse(body, exc.status_code, headers=dict(exc.headers or {}))
        return response  # 204/304 carry no body
    return await run_in_threadpool(_error_page, request, exc)


def _error_page(request: Request, exc: StarletteHTTPException) -> Response:
    def page() -> Response:
        return render(
            request,
            "error.html",
            {"status_code": exc.status_code, "detail": exc.detail},
            status_code=exc.status_code,
            headers=dict(exc.headers or {}),
        )

    user = getattr(request.state, "user", None)
    if user is not None and not inspect(user).detached:
        return page()
    # The request's database session was closed when the error left its dependencies (or no
    # route ran): the header's user, memberships and organisation names need a live one.
    settings: Settings = request.app.state.settings
    with request.app.state.session_factory() as session:
        request.state.user = user_from_cookie(settings, session, request.cookies.get(COOKIE_NAME))
        return page()


async def html_validation_page(request: Request, exc: Exception) -> Response:
    """A browser's malformed address (/results/ads/abc, ?ad=x) gets a page that says what is
    wrong in a sentence; API clients keep FastAPI's JSON errors."""
    assert isinstance(exc, RequestValidationError)
    if not wants_html(request):
        # FastAPI's list of problems, each with where (`loc`) and what (`msg`), as `detail`.
        body = {"detail": jsonable_encoder(exc.errors()), "code": "invalid"}
        return JSONResponse(body, 422)
    parts = []
    for error in exc.errors():
        # ("query", "ad", 1): the parameter's name, not the position in its list.
        loc = [part for part in error.get("loc", ()) if isinstance(part, str)]
        name = loc[1] if len(loc) > 1 else "the address"
        given = error.get("input")
        got = f" (it is “{given}”)" if isinstance(given, str | int) and given != "" else ""
        parts.append(f"“{name}”{got}: {plain_message(error)}")
    detail = "This address is not right. " + " ".join(parts)
    http = StarletteHTTPException(status_code=404 if _in_path(exc) else 400, detail=detail)
    return await run_in_threadpool(_error_page, request, http)


def _in_path(exc: RequestValidationError) -> bool:
    """A malformed id in the path names no page at all: that is a 404, not a bad form."""
    return any(error.get("loc", ("",))[0] == "path" for error in exc.errors())
