"""Passwords, the login cookie, and the dependencies that guard every designer/analyst page."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from web.accounts import tokens
from web.accounts.models import LoginSession, Membership, Role, User
from web.cookies import COOKIE_MAX_AGE_SECONDS, COOKIE_NAME, cookie_is_secure
from web.db import utcnow
from web.deps import SessionDep, SettingsDep
from web.errors import Forbidden, NotFound, Unauthorized
from web.settings import Settings

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("candor-no-such-user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password_or_dummy(password_hash: str | None, password: str) -> bool:
    """Like verify_password, spending the same time when there is no user to check against."""
    if password_hash is None:
        verify_password(_DUMMY_HASH, password)
        return False
    return verify_password(password_hash, password)


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="candor-login")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_cookie_value(settings: Settings, session: Session, user: User) -> str:
    """Start a login session for the user (committed) and return its signed cookie value."""
    token = secrets.token_urlsafe(32)
    cutoff = utcnow() - timedelta(seconds=COOKIE_MAX_AGE_SECONDS)
    # The user's expired logins go now: nothing else needs them.
    session.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user.id, LoginSession.created_at < cutoff
        )
    )
    session.add(LoginSession(user_id=user.id, token_hash=_token_hash(token)))
    session.commit()
    return _serializer(settings).dumps({"sid": token})


def _login_token(settings: Settings, value: str | None) -> str | None:
    if not value:
        return None
    try:
        data = _serializer(settings).loads(value, max_age=COOKIE_MAX_AGE_SECONDS)
    except (BadSignature, SignatureExpired):
        return None
    token = data.get("sid") if isinstance(data, dict) else None
    return token if isinstance(token, str) else None


def user_from_cookie(settings: Settings, session: Session, value: str | None) -> User | None:
    """The user of a live login session, or None (unsigned, expired, or logged out)."""
    token = _login_token(settings, value)
    if token is None:
        return None
    return session.scalar(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.token_hash == _token_hash(token),
            LoginSession.created_at >= utcnow() - timedelta(seconds=COOKIE_MAX_AGE_SECONDS),
        )
    )


def end_login(settings: Settings, session: Session, value: str | None) -> None:
    """Revoke the cookie's login session server-side (logout); committed."""
    token = _login_token(settings, value)
    if token is not None:
        session.execute(delete(LoginSession).where(LoginSession.token_hash == _token_hash(token)))
        session.commit()


def set_login_cookie(response: Response, settings: Settings, session: Session, user: User) -> str:
    """Log the browser in as the user; returns the cookie value (the CSRF token binds to it)."""
    value = login_cookie_value(settings, session, user)
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=COOKIE_MAX_AGE_SECONDS,
        httponly=True,
        secure=cookie_is_secure(settings),
        samesite="lax",
    )
    return value


def clear_login_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE_NAME, httponly=True, secure=cookie_is_secure(settings), samesite="lax"
    )


class LoginRequired(Unauthorized):
    """Raised for a page without a logged-in user; HTML gets a redirect, the API a 401."""

    def __init__(self) -> None:
        super().__init__("Login required")


def current_user(request: Request, settings: SettingsDep, session: SessionDep) -> User:
    user = optional_user(request, settings, session)
    if user is None:
        raise LoginRequired()
    return user


def optional_user(request: Request, settings: SettingsDep, session: SessionDep) -> User | None:
    """The logged-in user or None; kept on request.state so page templates can show it.

    A JSON API request with an API token is authenticated by the token alone (web/accounts/
    tokens.py), and marked so the CSRF check, which guards the cookie, lets it through."""
    secret = tokens.bearer_secret(request)
    if secret is not None:
        user: User | None = tokens.authenticate(session=session, settings=settings, secret=secret)
        request.state.api_token = True
    else:
        user = user_from_cookie(settings, session, request.cookies.get(COOKIE_NAME))
    request.state.user = user
    return user


CurrentUserDep = Annotated[User, Depends(current_user)]
OptionalUserDep = Annotated[User | None, Depends(optional_user)]


def membership_for(
    session: Session, user: User, organisation_id: int, roles: tuple[Role, ...] = tuple(Role)
) -> Membership:
    """The user's membership of an organisation with one of the roles, else 404 (not 403:
    another organisation's objects must not even be confirmed to exist). A request made with
    an API token sees its token's organisation only."""
    tokens.refuse_outside_scope(session, organisation_id)
    membership = session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.organisation_id == organisation_id
        )
    )
    if membership is None:
        raise NotFound("Not found")
    if membership.role not in roles:
        raise Forbidden("Your role does not allow this")
    return membership
