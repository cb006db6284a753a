"""The account page: the user's API tokens, made, listed and revoked (cookie login + CSRF)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from web.accounts import service, tokens
from web.accounts.auth import CurrentUserDep
from web.accounts.deps import LoggedInGuard
from web.accounts.models import User
from web.deps import SessionDep, SettingsDep
from web.errors import Conflict, Invalid
from web.pages import read_form, redirect, render
from web.refusals import status_of

router = APIRouter(include_in_schema=False, dependencies=[LoggedInGuard])


def _account_page(
    request: Request,
    session: Session,
    user: User,
    *,
    created: tokens.NewToken | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    memberships = service.memberships_of(session=session, user=user)
    roles = {m.organisation_id: m.role.value for m in memberships}
    context = {
        "memberships": memberships,
        "roles": roles,
        "tokens": tokens.user_tokens(session=session, user=user),
        "created": created,
        "errors": errors or {},
        "values": values or {},
        "base_url": request.app.state.settings.base_url.rstrip("/"),
    }
    # A fresh token may be on the page: never cached, never in a Referer.
    headers = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
    return render(request, "accounts/account.html", context, status_code, headers)


@router.get("/account")
def account_page(request: Request, user: CurrentUserDep, session: SessionDep) -> Response:
    return _account_page(request, session, user)


@router.post("/account/tokens")
async def create_token(
    request: Request, user: CurrentUserDep, settings: SettingsDep, session: SessionDep
) -> Response:
    values = await read_form(request)
    try:
        organisation_id = int(values.get("organisation_id", ""))
    except ValueError:
        return _account_page(
            request, session, user, values=values,
            errors={"organisation_id": "Choose an organisation"}, status_code=400,
        )  # fmt: skip
    try:
        created = tokens.new_token(
            session=session,
            settings=settings,
            user=user,
            organisation_id=organisation_id,
            name=values.get("name", ""),
        )
    except (Invalid, Conflict) as exc:
        return _account_page(
            request, session, user, values=values,
            errors={"name": exc.message}, status_code=status_of(exc),
        )  # fmt: skip
    # Rendered, not redirected: the secret exists only in this response.
    return _account_page(request, session, user, created=created, status_code=201)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(token_id: int, user: CurrentUserDep, session: SessionDep) -> Response:
    tokens.revoke(session=session, user=user, token_id=token_id)
    return redirect("/account")
