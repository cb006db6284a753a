"""Authorisation, written once: who may read, edit or manage an organisation's things."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends

from web.accounts.auth import CurrentUserDep, membership_for
from web.accounts.models import Membership, Role, User
from web.csrf import CsrfDep
from web.deps import SessionDep

# Every member reads; designers and owners edit studies; only owners manage people.
READ_ROLES: tuple[Role, ...] = (Role.OWNER, Role.DESIGNER, Role.ANALYST)
EDIT_ROLES: tuple[Role, ...] = (Role.OWNER, Role.DESIGNER)
MANAGE_ROLES: tuple[Role, ...] = (Role.OWNER,)


def logged_in_with_csrf(user: CurrentUserDep, _csrf: CsrfDep) -> User:
    """Router-wide guard: a login first (401/redirect), then the CSRF token on unsafe methods."""
    return user


def require_role(*roles: Role) -> Callable[..., Membership]:
    """Dependency for routes with an `org_id` path parameter: the caller's membership there
    with one of `roles` (404 when not a member, 403 when the role falls short)."""
    allowed = roles or READ_ROLES

    def dependency(org_id: int, user: CurrentUserDep, session: SessionDep) -> Membership:
        return membership_for(session, user, org_id, allowed)

    return dependency


OrgMemberDep = Annotated[Membership, Depends(require_role(*READ_ROLES))]
OrgEditorDep = Annotated[Membership, Depends(require_role(*EDIT_ROLES))]
OrgOwnerDep = Annotated[Membership, Depends(require_role(*MANAGE_ROLES))]
LoggedInGuard = Depends(logged_in_with_csrf)
