"""A login attempt under its rate limits: per client, and a doubling wait per account and
client after repeated wrong passwords (the same for the form and the API): wrong passwords from
elsewhere never keep the owner out."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from web.accounts import service
from web.accounts.models import User
from web.ratelimit import limit_logins, limiter_of


def authenticate_limited(
    request: Request, *, session: Session, email: str, password: str
) -> User | None:
    """The user, or None for a wrong email or password; RateLimited while the account waits."""
    limit_logins(request, email)
    user = service.authenticate(session=session, email=email, password=password)
    limiter = limiter_of(request)
    client = limiter.client(request)
    if user is None:
        limiter.login_failed(email, client)
    else:
        limiter.login_succeeded(email, client)
    return user
