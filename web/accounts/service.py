"""Accounts: sign-up, log-in, organisations, members and invitations. Services own the commit."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from web.accounts import tokens
from web.accounts.auth import hash_password, verify_password_or_dummy
from web.accounts.models import Invite, Membership, Organisation, Role, User
from web.accounts.schemas import InviteIn, NewAccountIn, SignupIn
from web.db import utcnow
from web.errors import Conflict, Forbidden, Gone, Invalid, NotFound


def _add_user(session: Session, data: NewAccountIn | SignupIn) -> User:
    if session.scalar(select(User.id).where(User.email == data.email)) is not None:
        raise Conflict(
            "An account with this email already exists; log in instead",
            code="email_taken",
            field="email",
        )
    user = User(email=data.email, name=data.name, password_hash=hash_password(data.password))
    session.add(user)
    session.flush()
    return user


def _commit(session: Session) -> None:
    """Commit; a unique-constraint race (same email twice at once) is a clear 409."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            "That conflicts with a change made at the same time; retry", code="edit_race"
        ) from exc


def sign_up(*, session: Session, data: SignupIn) -> tuple[User, Organisation]:
    """A new user and their organisation, of which they are the owner."""
    user = _add_user(session, data)
    organisation = Organisation(name=data.organisation_name)
    session.add(organisation)
    session.flush()
    session.add(Membership(user_id=user.id, organisation_id=organisation.id, role=Role.OWNER))
    _commit(session)
    return user, organisation


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    ok = verify_password_or_dummy(user.password_hash if user else None, password)
    return user if ok else None


def create_organisation(*, session: Session, user: User, name: str) -> Organisation:
    tokens.refuse_token(session, "creating an organisation")
    organisation = Organisation(name=name)
    session.add(organisation)
    session.flush()
    session.add(Membership(user_id=user.id, organisation_id=organisation.id, role=Role.OWNER))
    _commit(session)
    return organisation


def memberships_of(*, session: Session, user: User) -> list[Membership]:
    """The user's memberships (only the token's organisation for a request with an API token)."""
    query = select(Membership).join(Organisation).where(Membership.user_id == user.id)
    scope = tokens.token_organisation(session)
    if scope is not None:
        query = query.where(Membership.organisation_id == scope)
    return list(session.scalars(query.order_by(Organisation.name, Organisation.id)))


def list_members(*, session: Session, organisation_id: int) -> list[Membership]:
    return list(
        session.scalars(
            select(Membership)
            .join(User)
            .where(Membership.organisation_id == organisation_id)
            .order_by(User.email)
        )
    )


def _owner_count(session: Session, organisation_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.organisation_id == organisation_id, Membership.role == Role.OWNER)
        )
        or 0
    )


def change_role(*, session: Session, membership: Membership, role: Role) -> Membership:
    """Change a member's role; an organisation always keeps at least one owner."""
    if (
        membership.role == Role.OWNER
        and role != Role.OWNER
        and _owner_count(session, membership.organisation_id) <= 1
    ):
        raise Invalid("The organisation needs at least one owner; make someone else owner first")
    membership.role = role
    _commit(session)
    return membership


def remove_member(*, session: Session, membership: Membership) -> None:
    if membership.role == Role.OWNER and _owner_count(session, membership.organisation_id) <= 1:
        raise Invalid("The last owner cannot be removed; make someone else owner first")
    session.delete(membership)
    _commit(session)


def _token_hash(token: str) -> str:
    # The token carries 256 random bits, so a plain hash is enough to make a stolen table useless.
    return hashlib.sha256(token.encode()).hexdigest()


def create_invite(
    *, session: Session, organisation_id: int, created_by: User, data: InviteIn
) -> tuple[Invite, str]:
    """A new invitation and its token; the token is returned once and only its hash stored."""
    token = secrets.token_urlsafe(32)
    invite = Invite(
        organisation_id=organisation_id,
        role=data.role,
        token_hash=_token_hash(token),
        email=data.email,
        created_by_id=created_by.id,
        expires_at=utcnow() + timedelta(days=data.expires_in_days),
    )
    session.add(invite)
    _commit(session)
    return invite, token


def pending_invites(*, session: Session, organisation_id: int) -> list[Invite]:
    return list(
        session.scalars(
            select(Invite)
            .where(
                Invite.organisation_id == organisation_id,
                Invite.accepted_at.is_(None),
                Invite.expires_at > utcnow(),
            )
            .order_by(Invite.created_at)
        )
    )


def find_invite(*, session: Session, token: str, lock: bool = False) -> Invite | None:
    """The invitation for a token; `lock` holds its row so two accepts cannot both succeed."""
    query = select(Invite).where(Invite.token_hash == _token_hash(token))
    return session.scalar(query.with_for_update() if lock else query)


def invite_problem(invite: Invite | None) -> str | None:
    """Why this invitation cannot be used, or None if it can."""
    if invite is None:
        return "This invitation link is not valid. Ask for a new one."
    if invite.accepted_at is not None:
        return "This invitation has already been used."
    if invite.expires_at <= utcnow():
        return "This invitation has expired. Ask for a new one."
    return None


def _check_usable(invite: Invite | None, email: str | None) -> Invite:
    problem = invite_problem(invite)
    if invite is None:
        raise NotFound(problem or "invalid invitation")
    if problem is not None:
        raise Gone(problem)
    if invite.email is not None and email is not None and invite.email != email:
        raise Forbidden(f"This invitation is for {invite.email}; log in with that address")
    return invite


def accept_invite(*, session: Session, invite: Invite | None, user: User) -> Membership:
    """An existing user joins the organisation with the invited role."""
    tokens.refuse_token(session, "accepting an invitation")
    invite = _check_usable(invite, user.email)
    already = session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.organisation_id == invite.organisation_id
        )
    )
    if already is not None:
        raise Conflict("You are already a member of this organisation")
    membership = Membership(
        user_id=user.id, organisation_id=invite.organisation_id, role=invite.role
    )
    session.add(membership)
    invite.accepted_at = utcnow()
    invite.accepted_by_id = user.id
    _commit(session)
    return membership


def accept_invite_new_user(
    *, session: Session, invite: Invite | None, data: NewAccountIn
) -> tuple[User, Membership]:
    """A new user signs up through an invitation and joins with the invited role."""
    invite = _check_usable(invite, data.email)
    user = _add_user(session, data)
    membership = Membership(
        user_id=user.id, organisation_id=invite.organisation_id, role=invite.role
    )
    session.add(membership)
    invite.accepted_at = utcnow()
    invite.accepted_by_id = user.id
    _commit(session)
    return user, membership


def revoke_invite(*, session: Session, invite: Invite) -> None:
    session.delete(invite)
    _commit(session)
