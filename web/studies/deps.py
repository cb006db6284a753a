"""Authorisation for study-scoped routes: find the row, then check the caller's role in its
organisation. Another organisation's study, ad or integration is a 404, as if it did not exist."""

from collections.abc import Callable
from functools import cache
from typing import Annotated

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from web.accounts.auth import CurrentUserDep, membership_for
from web.accounts.deps import EDIT_ROLES, READ_ROLES
from web.accounts.models import Membership, Role, User
from web.deps import SessionDep
from web.errors import NotFound
from web.studies.models import Ad, Integration, Study
from web.studies.schemas import check_locale


@cache
def require_study_role(*roles: Role) -> Callable[..., Study]:
    """Dependency for routes with a `study_id` path parameter (cached so FastAPI reuses it)."""

    def dependency(study_id: int, user: CurrentUserDep, session: SessionDep) -> Study:
        study = session.get(Study, study_id)
        if study is None:
            raise NotFound("Not found")
        membership_for(session, user, study.organisation_id, roles)
        return study

    return dependency


@cache
def require_ad_role(*roles: Role) -> Callable[..., Ad]:
    """Dependency for `/studies/{study_id}/ads/{ad_id}` routes."""

    def dependency(
        ad_id: int,
        study: Annotated[Study, Depends(require_study_role(*roles))],
        session: SessionDep,
    ) -> Ad:
        ad = session.get(Ad, ad_id)
        if ad is None or ad.study_id != study.id:
            raise NotFound("Not found")
        return ad

    return dependency


@cache
def require_integration_role(*roles: Role) -> Callable[..., Integration]:
    """Dependency for `/studies/{study_id}/integrations/{integration_id}` routes."""

    def dependency(
        integration_id: int,
        study: Annotated[Study, Depends(require_study_role(*roles))],
        session: SessionDep,
    ) -> Integration:
        integration = session.get(Integration, integration_id)
        if integration is None or integration.study_id != study.id:
            raise NotFound("Not found")
        return integration

    return dependency


StudyReadDep = Annotated[Study, Depends(require_study_role(*READ_ROLES))]
StudyEditDep = Annotated[Study, Depends(require_study_role(*EDIT_ROLES))]
AdReadDep = Annotated[Ad, Depends(require_ad_role(*READ_ROLES))]
AdEditDep = Annotated[Ad, Depends(require_ad_role(*EDIT_ROLES))]
IntegrationReadDep = Annotated[Integration, Depends(require_integration_role(*READ_ROLES))]
IntegrationEditDep = Annotated[Integration, Depends(require_integration_role(*EDIT_ROLES))]


def can_edit(session: Session, user: User, organisation_id: int) -> bool:
    """Whether to show edit controls on a page the user may read."""
    role = session.scalar(
        select(Membership.role).where(
            Membership.user_id == user.id, Membership.organisation_id == organisation_id
        )
    )
    return role in EDIT_ROLES


def page_locale(locale: str) -> str:
    """A page's language code from its address: one that is not a language code names no page."""
    try:
        return check_locale(locale)
    except ValueError as exc:
        raise NotFound("No such language code") from exc
