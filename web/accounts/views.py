"""Account pages: sign-up, log-in, log-out, organisations, members and invitations."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from web.accounts import service, token_views
from web.accounts.api import router as api_router
from web.accounts.auth import (
    CurrentUserDep,
    OptionalUserDep,
    clear_login_cookie,
    end_login,
    set_login_cookie,
)
from web.accounts.deps import LoggedInGuard, OrgMemberDep, OrgOwnerDep
from web.accounts.login_limits import authenticate_limited
from web.accounts.models import Invite, Membership, Role
from web.accounts.schemas import InviteIn, LoginIn, NewAccountIn, OrganisationIn, SignupIn
from web.cookies import COOKIE_NAME
from web.csrf import CsrfDep
from web.deps import SessionDep, SettingsDep
from web.errors import NotFound
from web.forms import submit
from web.pages import read_form, redirect, render, safe_next

# Pages anyone may open; their POSTs still need the CSRF token (login CSRF is an attack too).
public = APIRouter(include_in_schema=False)
# Pages for logged-in users; the guard also checks the CSRF token on every POST.
members = APIRouter(include_in_schema=False, dependencies=[LoggedInGuard])


@public.get("/")
def home(request: Request, user: OptionalUserDep, session: SessionDep) -> Response:
    if user is None:
        return render(request, "home.html")
    memberships = service.memberships_of(session=session, user=user)
    if len(memberships) == 1:
        return redirect(f"/orgs/{memberships[0].organisation_id}")
    return render(request, "accounts/organisations.html", {"memberships": memberships})


@public.get("/signup")
def signup_form(request: Request, _user: OptionalUserDep) -> Response:
    return render(request, "accounts/signup.html", {"values": {}, "errors": {}})


@public.post("/signup")
async def signup(
    request: Request, _csrf: CsrfDep, settings: SettingsDep, session: SessionDep
) -> Response:
    values = await read_form(request)
    signed_up = submit(
        lambda: service.sign_up(session=session, data=SignupIn.model_validate(values)),
        lambda errors, status: _form_again(request, "accounts/signup.html", values, errors, status),
        field="email",
    )
    if isinstance(signed_up, Response):
        return signed_up
    user, organisation = signed_up
    response = redirect(f"/orgs/{organisation.id}")
    set_login_cookie(response, settings, session, user)
    return response


@public.get("/login")
def login_form(request: Request, _user: OptionalUserDep, next: str = "/") -> Response:
    return render(request, "accounts/login.html", {"values": {"next": next}, "errors": {}})


@public.post("/login")
async def login(
    request: Request, _csrf: CsrfDep, settings: SettingsDep, session: SessionDep
) -> Response:
    values = await read_form(request)
    data = submit(
        lambda: LoginIn.model_validate(values),
        lambda errors, status: _form_again(request, "accounts/login.html", values, errors, status),
    )
    if isinstance(data, Response):
        return data
    user = await run_in_threadpool(
        authenticate_limited, request, session=session, email=data.email, password=data.password
    )
    if user is None:
        errors = {"form": "Email or password is wrong."}
        return _form_again(request, "accounts/login.html", values, errors, status_code=401)
    response = redirect(safe_next(values.get("next")))
    set_login_cookie(response, settings, session, user)
    return response


@public.get("/logout")
def logout_form(request: Request, user: OptionalUserDep) -> Response:
    if user is None:
        return redirect("/login")
    return render(request, "accounts/logout.html")


@public.post("/logout")
def logout(
    request: Request, _csrf: CsrfDep, settings: SettingsDep, session: SessionDep
) -> Response:
    end_login(settings, session, request.cookies.get(COOKIE_NAME))
    response = redirect("/login")
    clear_login_cookie(response, settings)
    return response


@members.get("/orgs/new")
def new_organisation_form(request: Request) -> Response:
    return render(request, "accounts/new_organisation.html", {"values": {}, "errors": {}})


@members.post("/orgs/new")
async def new_organisation(request: Request, user: CurrentUserDep, session: SessionDep) -> Response:
    values = await read_form(request)
    organisation = submit(
        lambda: service.create_organisation(
            session=session, user=user, name=OrganisationIn.model_validate(values).name
        ),
        lambda errors, status: _form_again(
            request, "accounts/new_organisation.html", values, errors, status
        ),
    )
    if isinstance(organisation, Response):
        return organisation
    return redirect(f"/orgs/{organisation.id}")


def _members_page(
    request: Request,
    session: Session,
    me: Membership,
    *,
    errors: dict[str, str] | None = None,
    created: tuple[Invite, str] | None = None,
    status_code: int = 200,
) -> Response:
    owner = me.role == Role.OWNER
    context = {
        "organisation": me.organisation,
        "me": me,
        "is_owner": owner,
        "members": service.list_members(session=session, organisation_id=me.organisation_id),
        "invites": service.pending_invites(session=session, organisation_id=me.organisation_id)
        if owner
        else [],
        "roles": list(Role),
        "errors": errors or {},
        "created_invite": created[0] if created else None,
        "created_url": _invite_url(request, created[1]) if created else None,
    }
    # The page may show a fresh invite link: keep it out of Referer headers.
    headers = {"Referrer-Policy": "no-referrer"}
    return render(request, "accounts/members.html", context, status_code, headers)


def _invite_url(request: Request, token: str) -> str:
    return f"{request.app.state.settings.base_url.rstrip('/')}/invites/{token}"


@members.get("/orgs/{org_id}/members")
def members_page(request: Request, me: OrgMemberDep, session: SessionDep) -> Response:
    return _members_page(request, session, me)


def _member_in(session: Session, me: Membership, membership_id: int) -> Membership:
    member = session.get(Membership, membership_id)
    if member is None or member.organisation_id != me.organisation_id:
        raise NotFound("Not found")
    return member


@members.post("/orgs/{org_id}/members/{membership_id}/role")
async def change_role(
    request: Request, membership_id: int, me: OrgOwnerDep, session: SessionDep
) -> Response:
    member = _member_in(session, me, membership_id)
    role = (await read_form(request)).get("role", "")
    if role not in {r.value for r in Role}:
        return _members_page(
            request, session, me, errors={"members": "Choose a role"}, status_code=400
        )
    refused = submit(
        lambda: service.change_role(session=session, membership=member, role=Role(role)),
        lambda errors, status: _members_page(
            request, session, me, errors=errors, status_code=status
        ),
        field="members",
    )
    if isinstance(refused, Response):
        return refused
    return redirect(f"/orgs/{me.organisation_id}/members")


@members.post("/orgs/{org_id}/members/{membership_id}/remove")
def remove_member(
    request: Request, membership_id: int, me: OrgOwnerDep, session: SessionDep
) -> Response:
    member = _member_in(session, me, membership_id)
    leaving = member.id == me.id
    refused = submit(
        lambda: service.remove_member(session=session, membership=member),
        lambda errors, status: _members_page(
            request, session, me, errors=errors, status_code=status
        ),
        field="members",
    )
    if isinstance(refused, Response):
        return refused
    return redirect("/" if leaving else f"/orgs/{me.organisation_id}/members")


@members.post("/orgs/{org_id}/invites")
async def create_invite(
    request: Request, me: OrgOwnerDep, user: CurrentUserDep, session: SessionDep
) -> Response:
    values = {k: v for k, v in (await read_form(request)).items() if v != ""}
    created = submit(
        lambda: service.create_invite(
            session=session,
            organisation_id=me.organisation_id,
            created_by=user,
            data=InviteIn.model_validate(values),
        ),
        lambda errors, status: _members_page(
            request, session, me, errors=errors, status_code=status
        ),
    )
    if isinstance(created, Response):
        return created
    # Rendered, not redirected: the token exists only in this response.
    return _members_page(request, session, me, created=created, status_code=201)


@members.post("/orgs/{org_id}/invites/{invite_id}/revoke")
def revoke_invite(invite_id: int, me: OrgOwnerDep, session: SessionDep) -> Response:
    invite = session.get(Invite, invite_id)
    if invite is None or invite.organisation_id != me.organisation_id:
        raise NotFound("Not found")
    service.revoke_invite(session=session, invite=invite)
    return redirect(f"/orgs/{me.organisation_id}/members")


def _invite_page(
    request: Request,
    token: str,
    invite: Invite | None,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    problem = service.invite_problem(invite)
    context = {
        "token": token,
        "invite": invite if problem is None else None,
        "problem": problem,
        "values": {k: v for k, v in (values or {}).items() if "password" not in k}
        or {"email": (invite.email if invite else None) or ""},
        "errors": errors or {},
    }
    if problem is not None and status_code == 200:
        status_code = 404 if invite is None else 410
    return render(
        request, "accounts/invite.html", context, status_code, {"Referrer-Policy": "no-referrer"}
    )


@public.get("/invites/{token}")
def invite_page(
    request: Request, token: str, _user: OptionalUserDep, session: SessionDep
) -> Response:
    return _invite_page(request, token, service.find_invite(session=session, token=token))


@members.post("/invites/{token}/accept")
def accept_invite(
    request: Request, token: str, user: CurrentUserDep, session: SessionDep
) -> Response:
    invite = service.find_invite(session=session, token=token, lock=True)
    membership = submit(
        lambda: service.accept_invite(session=session, invite=invite, user=user),
        lambda errors, status: _invite_page(
            request, token, invite, errors=errors, status_code=status
        ),
    )
    if isinstance(membership, Response):
        return membership
    return redirect(f"/orgs/{membership.organisation_id}")


@public.post("/invites/{token}/signup")
async def accept_invite_new_user(
    request: Request, token: str, _csrf: CsrfDep, settings: SettingsDep, session: SessionDep
) -> Response:
    values = await read_form(request)
    invite = service.find_invite(session=session, token=token, lock=True)
    joined = submit(
        lambda: service.accept_invite_new_user(
            session=session, invite=invite, data=NewAccountIn.model_validate(values)
        ),
        lambda errors, status: _invite_page(
            request, token, invite, values=values, errors=errors, status_code=status
        ),
    )
    if isinstance(joined, Response):
        return joined
    user, membership = joined
    response = redirect(f"/orgs/{membership.organisation_id}")
    set_login_cookie(response, settings, session, user)
    return response


def _form_again(
    request: Request,
    template: str,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 400,
) -> Response:
    """The same form with the user's values (never the password) and what to fix."""
    shown = {key: value for key, value in values.items() if "password" not in key}
    return render(request, template, {"values": shown, "errors": errors}, status_code)


router = APIRouter()
router.include_router(public)
router.include_router(members)
router.include_router(api_router)
router.include_router(token_views.router)
