"""Rendering pages: one Jinja2 environment, the CSRF token in every page, HTML error pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import inspect
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from web.accounts.auth import COOKIE_NAME, user_from_cookie
from web.csrf import CSRF_FIELD, csrf_token, set_csrf_cookie
from web.settings import Settings

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def filesize(size: int) -> str:
    """Bytes for people: 740 KB, 12.5 MB, 500 MB (binary units, as file managers show them)."""
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}".replace(".0 ", " ") if value < 10 else f"{value:.0f} {unit}"


templates.env.filters["filesize"] = filesize


def wants_html(request: Request) -> bool:
    """A browser asking for a page, not an API client."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a template with the user, the CSRF token and settings; set the CSRF cookie."""
    settings: Settings = request.app.state.settings
    page_context: dict[str, Any] = {
        "user": getattr(request.state, "user", None),
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request, settings),
        "base_url": settings.base_url.rstrip("/"),
    }
    page_context.update(context or {})
    response = templates.TemplateResponse(request, name, page_context, status_code, headers)
    # Pages carry a CSRF token and private data: never cache them in shared caches.
    response.headers.setdefault("Cache-Control", "no-store")
    set_csrf_cookie(request, response, settings)
    return response


def redirect(url: str) -> RedirectResponse:
    """303 See Other: after a form POST the browser GETs the next page."""
    return RedirectResponse(url, status_code=303)


def safe_next(url: str | None, default: str = "/") -> str:
    """Only same-site relative paths, so `?next=` cannot send a user to another site."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default


async def html_error_page(request: Request, exc: Exception) -> Response:
    """Browsers get a readable error page; API clients keep FastAPI's JSON errors."""
    assert isinstance(exc, StarletteHTTPException)
    if not wants_html(request):
        return await http_exception_handler(request, exc)
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


async def read_form(request: Request) -> dict[str, str]:
    """The submitted form's text fields (the CSRF token removed)."""
    form = await request.form()
    return {
        key: value for key, value in form.items() if isinstance(value, str) and key != CSRF_FIELD
    }


def field_errors(exc: ValidationError) -> dict[str, str]:
    """One plain message per form field, for showing next to the field."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "form"
        message = str(error["msg"]).removeprefix("Value error, ")
        errors.setdefault(field, message[:1].upper() + message[1:])
    return errors
