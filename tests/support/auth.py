"""Test helpers for users, organisations and logging a TestClient in."""

from __future__ import annotations

from functools import cache

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, object_session

from web.accounts.auth import COOKIE_NAME, hash_password, login_cookie_value
from web.accounts.models import Membership, Organisation, Role, User
from web.settings import Settings

# argon2 is slow on purpose; tests reuse one hash per password (salts need not differ here).
_cached_hash = cache(hash_password)


def make_user(
    session: Session,
    email: str = "dana@example.org",
    role: Role = Role.OWNER,
    organisation: Organisation | None = None,
    password: str = "correct horse battery",
) -> User:
    """A user who is a member of `organisation` (a new one if None) with `role`."""
    organisation = organisation or Organisation(name=f"Org of {email}")
    user = User(email=email, name=email.split("@")[0], password_hash=_cached_hash(password))
    session.add_all([organisation, user])
    session.flush()
    session.add(Membership(user_id=user.id, organisation_id=organisation.id, role=role))
    session.flush()
    return user


def login(client: TestClient, settings: Settings, user: User) -> None:
    """Log the client in as the user without going through the login form."""
    session = object_session(user)
    assert session is not None, "log in a user that is still attached to its session"
    client.cookies.set(COOKIE_NAME, login_cookie_value(settings, session, user))


def csrf_token(client: TestClient) -> str:
    """The CSRF token for the client's browser cookie and current login (sets the cookie)."""
    response = client.get("/api/v1/auth/csrf")
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


def csrf_headers(client: TestClient) -> dict[str, str]:
    """Headers for an unsafe JSON API call from the client's current login."""
    return {"X-CSRF-Token": csrf_token(client)}
