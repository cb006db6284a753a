"""Share links of a study's report: the members' share page and the API that makes, lists and
revokes them (what a link opens is web/reports/views.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session

from web.accounts.auth import CurrentUserDep
from web.accounts.deps import LoggedInGuard
from web.deps import SessionDep, SettingsDep
from web.forms import submit
from web.pages import read_form, redirect, render
from web.reports import links
from web.reports.headers import PRIVATE_HEADERS, headed
from web.reports.models import ReportLink
from web.results.deps import StudyDep
from web.settings import Settings
from web.studies.models import Study

members = APIRouter(
    include_in_schema=False, dependencies=[LoggedInGuard], route_class=headed(PRIVATE_HEADERS)
)
api = APIRouter(prefix="/api/v1", tags=["reports"], dependencies=[LoggedInGuard])


class ReportLinkIn(BaseModel):
    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = Field(
        default="", description="Who the link is for, shown in the list of links"
    )
    days: int = Field(default=links.DEFAULT_DAYS, ge=1, le=links.MAX_DAYS)


class ReportLinkOut(BaseModel):
    id: int
    study_id: int
    label: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_opened_at: datetime | None
    state: str = Field(description="active, expired or revoked")


class NewReportLinkOut(ReportLinkOut):
    url: str = Field(description="Shown once: only a hash of its token is stored")


def _link_out(link: ReportLink) -> ReportLinkOut:
    return ReportLinkOut(
        id=link.id,
        study_id=link.study_id,
        label=link.label,
        created_at=link.created_at,
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
        last_opened_at=link.last_opened_at,
        state=links.link_state(link),
    )


def share_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/report/{token}"


def _share_page(
    request: Request,
    session: Session,
    study: Study,
    *,
    new_url: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "study": study,
        "links": [_link_out(link) for link in links.study_links(session=session, study=study)],
        "new_url": new_url,
        "values": values or {"days": str(links.DEFAULT_DAYS)},
        "errors": errors or {},
        "max_days": links.MAX_DAYS,
    }
    return render(request, "reports/share.html", context, status_code)


@members.get("/results/studies/{study_id}/share", response_class=HTMLResponse)
def share_page(request: Request, study: StudyDep, session: SessionDep) -> HTMLResponse:
    return _share_page(request, session, study)


@members.post("/results/studies/{study_id}/share", response_class=HTMLResponse)
async def create_share_link(
    request: Request,
    study: StudyDep,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    values = await read_form(request)

    def create() -> links.NewLink:
        data = ReportLinkIn.model_validate(values)
        return links.create_link(
            session=session, study=study, user=user, label=data.label, days=data.days
        )

    new = submit(
        create,
        lambda errors, status: _share_page(
            request, session, study, values=values, errors=errors, status_code=status
        ),
    )
    if isinstance(new, Response):
        return new
    return _share_page(
        request, session, study, new_url=share_url(settings, new.token), status_code=201
    )


@members.post("/results/studies/{study_id}/share/{link_id}/revoke")
def revoke_share_link(study: StudyDep, link_id: int, session: SessionDep) -> Response:
    link = links.study_link(session=session, study=study, link_id=link_id)
    links.revoke_link(session=session, link=link)
    return redirect(f"/results/studies/{study.id}/share")


@api.get("/studies/{study_id}/report-links")
def list_report_links(study: StudyDep, session: SessionDep) -> list[ReportLinkOut]:
    """The study's share links (their URLs are not stored, so not shown)."""
    return [_link_out(link) for link in links.study_links(session=session, study=study)]


@api.post("/studies/{study_id}/report-links", status_code=status.HTTP_201_CREATED)
def create_report_link(
    data: ReportLinkIn,
    study: StudyDep,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
) -> NewReportLinkOut:
    """A link that opens the study's report (PNG per ad, PDF) without a Candor account."""
    new = links.create_link(
        session=session, study=study, user=user, label=data.label, days=data.days
    )
    return NewReportLinkOut(**_link_out(new.link).model_dump(), url=share_url(settings, new.token))


@api.delete("/studies/{study_id}/report-links/{link_id}")
def revoke_report_link(study: StudyDep, link_id: int, session: SessionDep) -> ReportLinkOut:
    """Revoke a link: it stops working at once, everywhere."""
    link = links.study_link(session=session, study=study, link_id=link_id)
    return _link_out(links.revoke_link(session=session, link=link))


router = APIRouter()
router.include_router(members)
router.include_router(api)
