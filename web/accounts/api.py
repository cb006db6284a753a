"""JSON API of the accounts domain, under /api/v1 (cookie sessions, X-CSRF-Token on writes)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.orm import Session

from web.accounts import service
from web.accounts.auth import (
    CurrentUserDep,
    clear_login_cookie,
    end_login,
    set_login_cookie,
)
from web.accounts.deps import LoggedInGuard, OrgMemberDep, OrgOwnerDep
from web.accounts.login_limits import authenticate_limited
from web.accounts.models import Invite, Membership, User
from web.accounts.schemas import (
    CsrfOut,
    InviteAcceptIn,
    InviteAcceptNewIn,
    InviteCreatedOut,
    InviteIn,
    InviteOut,
    LoginIn,
    MemberOut,
    MeOut,
    OrganisationIn,
    OrganisationOut,
    RoleChangeIn,
    SignupIn,
)
from web.cookies import COOKIE_NAME
from web.csrf import CsrfDep, csrf_token, set_csrf_cookie
from web.deps import SessionDep, SettingsDep
from web.errors import NotFound, Unauthorized
from web.openapi import documented
from web.settings import Settings

public = APIRouter(prefix="/api/v1", tags=["accounts"])
members = APIRouter(prefix="/api/v1", tags=["accounts"], dependencies=[LoggedInGuard])


def _me(
    request: Request, settings: Settings, session: Session, user: User, login_cookie: str | None
) -> MeOut:
    memberships = service.memberships_of(session=session, user=user)
    return MeOut(
        id=user.id,
        email=user.email,
        name=user.name,
        organisations=[
            OrganisationOut(id=m.organisation_id, name=m.organisation.name, role=m.role)
            for m in memberships
        ],
        csrf_token=csrf_token(request, settings, login_cookie),
    )


def _logged_in(
    request: Request, response: Response, settings: Settings, session: Session, user: User
) -> MeOut:
    """Set the login cookie and answer with the user and the CSRF token bound to it."""
    login_cookie = set_login_cookie(response, settings, session, user)
    set_csrf_cookie(request, response, settings)
    return _me(request, settings, session, user, login_cookie)


@public.get("/auth/csrf")
def get_csrf_token(request: Request, response: Response, settings: SettingsDep) -> CsrfOut:
    """A CSRF token for this browser (and its login, if any); sets the CSRF cookie if missing."""
    token = csrf_token(request, settings)
    set_csrf_cookie(request, response, settings)
    return CsrfOut(csrf_token=token)


@public.post("/auth/signup", status_code=status.HTTP_201_CREATED)
def signup(
    data: SignupIn,
    request: Request,
    response: Response,
    _csrf: CsrfDep,
    settings: SettingsDep,
    session: SessionDep,
) -> MeOut:
    """Create a user and their organisation (role owner), and log in."""
    user, _organisation = service.sign_up(session=session, data=data)
    return _logged_in(request, response, settings, session, user)


@public.post("/auth/login", responses=documented(429))
def login(
    data: LoginIn,
    request: Request,
    response: Response,
    _csrf: CsrfDep,
    settings: SettingsDep,
    session: SessionDep,
) -> MeOut:
    """Log in with email and password: sets the login cookie and answers the user with the CSRF
    token for later writes (scripts use an API token instead: see the top of this page)."""
    user = authenticate_limited(request, session=session, email=data.email, password=data.password)
    if user is None:
        raise Unauthorized("Email or password is wrong")
    return _logged_in(request, response, settings, session, user)


@public.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    request: Request, _csrf: CsrfDep, settings: SettingsDep, session: SessionDep
) -> Response:
    """End this login server-side: the cookie no longer works anywhere, even if copied."""
    end_login(settings, session, request.cookies.get(COOKIE_NAME))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_login_cookie(response, settings)
    return response


@public.post("/invites/accept-new", status_code=status.HTTP_201_CREATED)
def accept_invite_new_user(
    data: InviteAcceptNewIn,
    request: Request,
    response: Response,
    _csrf: CsrfDep,
    settings: SettingsDep,
    session: SessionDep,
) -> MeOut:
    """Sign up through an invitation: a new user joins with the invited role, and logs in."""
    invite = service.find_invite(session=session, token=data.token, lock=True)
    user, _membership = service.accept_invite_new_user(session=session, invite=invite, data=data)
    return _logged_in(request, response, settings, session, user)


@members.get("/me")
def me(request: Request, user: CurrentUserDep, settings: SettingsDep, session: SessionDep) -> MeOut:
    """Who is asking: the user, their organisations with their role in each (only the token's
    organisation with an API token), and a CSRF token for a cookie login's writes."""
    return _me(request, settings, session, user, None)


@members.post("/orgs", status_code=status.HTTP_201_CREATED)
def create_organisation(
    data: OrganisationIn, user: CurrentUserDep, session: SessionDep
) -> OrganisationOut:
    """A new organisation, its creator its owner (a login only: an API token is refused)."""
    organisation = service.create_organisation(session=session, user=user, name=data.name)
    return OrganisationOut(id=organisation.id, name=organisation.name, role="owner")


def _member_out(membership: Membership) -> MemberOut:
    return MemberOut(
        membership_id=membership.id,
        user_id=membership.user_id,
        email=membership.user.email,
        name=membership.user.name,
        role=membership.role,
        joined_at=membership.created_at,
    )


def _member_in(session: Session, me: Membership, membership_id: int) -> Membership:
    member = session.get(Membership, membership_id)
    if member is None or member.organisation_id != me.organisation_id:
        raise NotFound("Not found")
    return member


@members.get("/orgs/{org_id}/members")
def list_members(me: OrgMemberDep, session: SessionDep) -> list[MemberOut]:
    """The organisation's members with their roles (any member may read)."""
    return [
        _member_out(m)
        for m in service.list_members(session=session, organisation_id=me.organisation_id)
    ]


@members.patch("/orgs/{org_id}/members/{membership_id}")
def change_role(
    membership_id: int, data: RoleChangeIn, me: OrgOwnerDep, session: SessionDep
) -> MemberOut:
    """Owners only; an organisation always keeps one owner."""
    member = _member_in(session, me, membership_id)
    service.change_role(session=session, membership=member, role=data.role)
    return _member_out(member)


@members.delete("/orgs/{org_id}/members/{membership_id}", status_code=204)
def remove_member(membership_id: int, me: OrgOwnerDep, session: SessionDep) -> Response:
    """Owners only: remove a member (or leave); an organisation always keeps one owner."""
    member = _member_in(session, me, membership_id)
    service.remove_member(session=session, membership=member)
    return Response(status_code=204)


@members.get("/orgs/{org_id}/invites")
def list_invites(me: OrgOwnerDep, session: SessionDep) -> list[InviteOut]:
    """Pending invitations (tokens are never shown again)."""
    invites = service.pending_invites(session=session, organisation_id=me.organisation_id)
    return [InviteOut.model_validate(i) for i in invites]


@members.post("/orgs/{org_id}/invites", status_code=status.HTTP_201_CREATED)
def create_invite(
    data: InviteIn,
    me: OrgOwnerDep,
    user: CurrentUserDep,
    settings: SettingsDep,
    session: SessionDep,
) -> InviteCreatedOut:
    """A single-use invitation link; its token is in this answer only."""
    invite, token = service.create_invite(
        session=session, organisation_id=me.organisation_id, created_by=user, data=data
    )
    return InviteCreatedOut(
        **InviteOut.model_validate(invite).model_dump(),
        token=token,
        url=f"{settings.base_url.rstrip('/')}/invites/{token}",
    )


@members.delete("/orgs/{org_id}/invites/{invite_id}", status_code=204)
def revoke_invite(invite_id: int, me: OrgOwnerDep, session: SessionDep) -> Response:
    """Owners only: a pending invitation link stops working."""
    invite = session.get(Invite, invite_id)
    if invite is None or invite.organisation_id != me.organisation_id:
        raise NotFound("Not found")
    service.revoke_invite(session=session, invite=invite)
    return Response(status_code=204)


@members.post("/invites/accept")
def accept_invite(
    data: InviteAcceptIn, user: CurrentUserDep, session: SessionDep
) -> OrganisationOut:
    """The logged-in user joins the inviting organisation with the invited role."""
    invite = service.find_invite(session=session, token=data.token, lock=True)
    membership = service.accept_invite(session=session, invite=invite, user=user)
    return OrganisationOut(
        id=membership.organisation_id, name=membership.organisation.name, role=membership.role
    )


router = APIRouter()
router.include_router(public)
router.include_router(members)
