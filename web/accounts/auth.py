"""Passwords, the login cookie, and the dependencies that guard every designer/analyst page."""

from __future__ import annotations

from typing import Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request, Response, status
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from web.accounts.models import Membership, Role, User
from web.deps import SessionDep, SettingsDep
from web.settings import Settings

COOKIE_NAME = "candor_session"
COOKIE_MAX_AGE_SECONDS = 14 * 24 * 3600
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


def login_cookie_value(settings: Settings, user: User) -> str:
    """Signed cookie value naming the user; the password hash prefix revokes it on change."""
    return _serializer(settings).dumps({"uid": user.id, "pw": user.password_hash[-16:]})


def user_from_cookie(settings: Settings, session: Session, value: str | None) -> User | None:
    if not value:
        return None
    try:
        data = _serializer(settings).loads(value, max_age=COOKIE_MAX_AGE_SECONDS)
    except (BadSignature, SignatureExpired):
        return None
    user = session.get(User, data.get("uid"))
    if user is None or user.password_hash[-16:] != data.get("pw"):
        return None
    return user


def cookie_is_secure(settings: Settings) -> bool:
    """Cookies are `Secure` whenever Candor is served over https."""
    return settings.base_url.lower().startswith("https://")


def set_login_cookie(response: Response, settings: Settings, user: User) -> str:
    """Log the browser in as the user; returns the cookie value (the CSRF token binds to it)."""
    value = login_cookie_value(settings, user)
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


class LoginRequired(Exception):
    """Raised for a page without a logged-in user; HTML gets a redirect, the API a 401."""


def current_user(request: Request, settings: SettingsDep, session: SessionDep) -> User:
    user = optional_user(request, settings, session)
    if user is None:
        raise LoginRequired()
    return user


def optional_user(request: Request, settings: SettingsDep, session: SessionDep) -> User | None:
    """The logged-in user or None; kept on request.state so page templates can show it."""
    user = user_from_cookie(settings, session, request.cookies.get(COOKIE_NAME))
    request.state.user = user
    return user


CurrentUserDep = Annotated[User, Depends(current_user)]
OptionalUserDep = Annotated[User | None, Depends(optional_user)]


def membership_for(
    session: Session, user: User, organisation_id: int, roles: tuple[Role, ...] = tuple(Role)
) -> Membership:
    """The user's membership of an organisation with one of the roles, else 404 (not 403:
    another organisation's objects must not even be confirmed to exist)."""
    membership = session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.organisation_id == organisation_id
        )
    )
    if membership is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not found")
    if membership.role not in roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Your role does not allow this")
    return membership
