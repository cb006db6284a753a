"""Rendering pages: one Jinja2 environment, the CSRF token in every page, form errors said
plainly."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

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


async def read_form(request: Request) -> dict[str, str]:
    """The submitted form's text fields (the CSRF token removed)."""
    form = await request.form()
    return {
        key: value for key, value in form.items() if isinstance(value, str) and key != CSRF_FIELD
    }


# Pydantic's error types, said the way a form says them (its own wording reads like a parser:
# "String should have at least 10 characters", "List should have at least 1 item after
# validation, not 0"). Our own validators' messages (value_error) are kept as they are.
PLAIN = {
    "missing": "This is required.",
    "string_too_short": "Write at least {min_length} characters.",
    "string_too_long": "Keep it to {max_length} characters or fewer.",
    "too_short": "Give at least {min_length}.",
    "too_long": "Give at most {max_length}.",
    "int_parsing": "Enter a whole number, such as 10.",
    "int_from_float": "Enter a whole number, such as 10.",
    "float_parsing": "Enter a number, such as 2.5.",
    "bool_parsing": "Choose yes or no.",
    "greater_than_equal": "Enter {ge} or more.",
    "greater_than": "Enter more than {gt}.",
    "less_than_equal": "Enter {le} or less.",
    "less_than": "Enter less than {lt}.",
    "enum": "Choose one of: {expected}.",
    "literal_error": "Choose one of: {expected}.",
    "string_pattern_mismatch": "This is not in the expected form.",
    "url_parsing": "Enter a full web address, starting with https://.",
}


def plain_message(error: Mapping[str, Any]) -> str:
    """One validation error as a sentence for a person filling in a form or typing a URL."""
    kind = str(error.get("type", ""))
    if kind in ("string_too_short", "too_short") and error.get("ctx", {}).get("min_length") == 1:
        return "This is required." if kind == "string_too_short" else "Give at least one."
    template = PLAIN.get(kind)
    if template is not None:
        try:
            return template.format(**error.get("ctx", {}))
        except (KeyError, IndexError):
            pass
    message = str(error.get("msg", "This is not valid.")).removeprefix("Value error, ")
    return message[:1].upper() + message[1:]


def field_errors(exc: ValidationError) -> dict[str, str]:
    """One plain message per form field, for showing next to the field."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "form"
        errors.setdefault(field, plain_message(error))
    return errors
