"""API tokens for scripts: per user, scoped to one organisation, revocable, sent as
`Authorization: Bearer cnd_…` to the JSON API (paths under /api/).

- A token acts as its user within its one organisation, with the user's role there as it is at
  each call: demote the user and the token can do less; remove them and it stops working.
- It is 256 random bits, shown once at creation; only its keyed hash is stored
  (`web.keyed.keyed_hash`, keyed from the server secret, purpose "api-token"), so a copied
  table authenticates nothing.
- It needs no CSRF token: a browser never attaches it by itself, as it does the login cookie, so
  another site cannot make a browser send it. A request that carries one is authenticated by it
  alone; a cookie beside it is ignored.
- Its scope is enforced once: while a request is authenticated by a token, the request's database
  session carries the token's organisation (`session.info`), and `membership_for`, the check every
  organisation-scoped route makes, answers 404 for any other organisation. What belongs to no
  organisation (creating one, accepting an invitation, managing tokens) refuses a token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy import ForeignKey, String, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from web.accounts.models import Membership, Organisation, User
from web.db import Base, utcnow
from web.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from web.keyed import keyed_hash
from web.settings import Settings

PREFIX = "cnd_"  # tells a Candor API token from any other bearer value (a proxy's, a panelist's)
API_PATHS = "/api/"  # tokens are for the JSON API; pages stay cookie-only
HASH_PURPOSE = "api-token"
NAME_MAX = 100
MAX_ACTIVE_PER_USER = 20
# last_used_at is written at most once a minute per token: a script polling every second
# should not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_SCOPE_KEY = "api_token_organisation_id"


class ApiToken(Base):
    """A user's token for one organisation; only the keyed hash of its secret is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()
    user: Mapped[User] = relationship()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once; only its keyed hash is stored


def token_hash(settings: Settings, secret: str) -> str:
    return keyed_hash(settings, HASH_PURPOSE, secret)


def token_organisation(session: Session) -> int | None:
    """The organisation the request's API token is scoped to; None for a cookie login."""
    scope = session.info.get(_SCOPE_KEY)
    return scope if isinstance(scope, int) else None


def refuse_outside_scope(session: Session, organisation_id: int) -> None:
    """404 for another organisation than the token's (never confirmed to exist)."""
    scope = token_organisation(session)
    if scope is not None and scope != organisation_id:
        raise NotFound("Not found")


def refuse_token(session: Session, action: str) -> None:
    """403 for what a token scoped to one organisation may not do at all."""
    if token_organisation(session) is not None:
        raise Forbidden(
            f"An API token acts within its one organisation; {action} needs a login",
            code="token_not_allowed",
        )


def new_token(
    *, session: Session, settings: Settings, user: User, organisation_id: int, name: str
) -> NewToken:
    """A new token of the user for one of their organisations (committed)."""
    refuse_token(session, "making a token")
    name = name.strip()
    if not name:
        raise Invalid("Name the token (what script or machine uses it)")
    if len(name) > NAME_MAX:
        raise Invalid(f"A token's name has at most {NAME_MAX} characters")
    member = session.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id, Membership.organisation_id == organisation_id
        )
    )
    if member is None:
        raise NotFound("Not found")
    active = session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )
    if (active or 0) >= MAX_ACTIVE_PER_USER:
        raise Conflict(
            f"You have {MAX_ACTIVE_PER_USER} tokens in use: revoke one first",
            code="too_many_tokens",
        )
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        organisation_id=organisation_id,
        name=name,
        token_hash=token_hash(settings, secret),
    )
    session.add(token)
    session.commit()
    return NewToken(token, secret)


def user_tokens(*, session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke(*, session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens (committed): it stops working at once."""
    refuse_token(session, "revoking a token")
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("Not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.commit()
    return token


def bearer_secret(request: Request) -> str | None:
    """The API token a JSON API request carries (`Authorization: Bearer cnd_…`), else None.

    Other bearer values (a panelist's session token, an auth proxy's) are not ours to judge."""
    if not request.url.path.startswith(API_PATHS):
        return None
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value.startswith(PREFIX):
        return None
    return value


def authenticate(*, session: Session, settings: Settings, secret: str) -> User:
    """The user of a live token, the session scoped to its organisation; 401 otherwise."""
    token = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_hash(settings, secret))
    )
    if token is None or token.revoked_at is not None:
        raise Unauthorized("API token unknown or revoked", code="invalid_token")
    member = session.scalar(
        select(Membership.id).where(
            Membership.user_id == token.user_id,
            Membership.organisation_id == token.organisation_id,
        )
    )
    if member is None:
        raise Unauthorized(
            "This API token's user is no longer a member of its organisation",
            code="invalid_token",
        )
    now = utcnow()
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        session.commit()
    session.info[_SCOPE_KEY] = token.organisation_id
    return token.user
