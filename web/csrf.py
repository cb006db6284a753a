"""CSRF protection: a token bound to a random per-browser cookie and to the login cookie.

The token is an HMAC of both cookies under the secret key, so a page of another site can neither
read it nor compute it, and a token stolen before login is useless after. Forms send it in the
hidden field `csrf_token`; JSON calls send it in the `X-CSRF-Token` header (a custom header also
forces a CORS preflight, which Candor never grants).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request, Response

from web.cookies import COOKIE_MAX_AGE_SECONDS, COOKIE_NAME, cookie_is_secure
from web.deps import SettingsDep
from web.errors import Forbidden
from web.settings import Settings

CSRF_COOKIE = "candor_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfRefused(Forbidden):
    """A state-changing request without a valid token."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="csrf")


def _browser_secret(request: Request) -> str:
    """The browser's CSRF cookie, or a new one this response will set."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing:
        return existing
    new: str | None = getattr(request.state, "new_csrf_cookie", None)
    if new is None:
        new = secrets.token_urlsafe(32)
        request.state.new_csrf_cookie = new
    return new


def compute_token(settings: Settings, browser_secret: str, login_cookie: str | None) -> str:
    message = f"csrf|{browser_secret}|{login_cookie or ''}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def csrf_token(request: Request, settings: Settings, login_cookie: str | None = None) -> str:
    """The token to embed in a page or return to an API client.

    `login_cookie` overrides the request's login cookie, for responses that set a new one.
    """
    login = login_cookie if login_cookie is not None else request.cookies.get(COOKIE_NAME)
    return compute_token(settings, _browser_secret(request), login)


def set_csrf_cookie(request: Request, response: Response, settings: Settings) -> None:
    """Set the browser's CSRF cookie on the response if this request created it."""
    new = getattr(request.state, "new_csrf_cookie", None)
    if new is not None:
        response.set_cookie(
            CSRF_COOKIE,
            new,
            max_age=COOKIE_MAX_AGE_SECONDS,
            httponly=True,
            secure=cookie_is_secure(settings),
            samesite="lax",
        )


def check_token(request: Request, settings: Settings, submitted: str | None) -> None:
    """Refuse unless `submitted` is the token for this browser and login."""
    browser_secret = request.cookies.get(CSRF_COOKIE)
    if not browser_secret:
        raise CsrfRefused("CSRF cookie missing: reload the page and try again")
    if not submitted:
        raise CsrfRefused(f"CSRF token missing: send the {CSRF_HEADER} header or form field")
    expected = compute_token(settings, browser_secret, request.cookies.get(COOKIE_NAME))
    if not hmac.compare_digest(expected, submitted):
        raise CsrfRefused("CSRF token invalid or expired: reload the page and try again")


async def csrf_protect(request: Request, settings: SettingsDep) -> None:
    """Dependency: every unsafe request carries the token in the header or the form, unless an
    API token authenticated it (set by the login dependency, which runs first): no cookie
    speaks for that request, so there is no cookie for another site to ride on."""
    if request.method in SAFE_METHODS or getattr(request.state, "api_token", False):
        return
    submitted = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if submitted is None and content_type.startswith(_FORM_TYPES):
        # Starlette caches the parsed form, so the view reads the same one again.
        value = (await request.form()).get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    check_token(request, settings, submitted)


CsrfDep = Annotated[None, Depends(csrf_protect)]
