"""Report routes: downloads for members, share links, and the public pages a link opens."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session

from web.accounts.auth import CurrentUserDep
from web.accounts.deps import LoggedInGuard
from web.deps import SessionDep, SettingsDep
from web.errors import DomainError, Invalid, NotFound
from web.forms import submit
from web.handlers import domain_error
from web.pages import read_form, redirect, render
from web.reports import links
from web.reports.compare_content import compare_report, segments_report
from web.reports.content import ad_report, study_ads, study_report
from web.reports.models import ReportLink
from web.results import catalogue
from web.results.api import check_compare_count, segment_curves
from web.results.deps import AdDep, StudyDep, readable_ads
from web.results.export import file_stem
from web.settings import Settings
from web.studies.models import Ad, Study

members = APIRouter(include_in_schema=False, dependencies=[LoggedInGuard])
api = APIRouter(prefix="/api/v1", tags=["reports"], dependencies=[LoggedInGuard])

# A shared report is for its recipient only: not cached, not indexed, its URL never sent on.
PUBLIC_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


class _PublicRoute(APIRoute):
    """A shared report's route: every answer, a refusal's included, has PUBLIC_HEADERS."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                response = await handler(request)
            except DomainError as exc:
                response = await domain_error(request, exc)
            response.headers.update(PUBLIC_HEADERS)
            return response

        return answer


public = APIRouter(include_in_schema=False, route_class=_PublicRoute)
PRIVATE_HEADERS = {"Cache-Control": "private, no-store"}


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


def _filename(text: str, suffix: str) -> str:
    return f"{file_stem(text, 'report')}.{suffix}"


def _png(
    settings: Settings, session: Session, study: Study, ad: Ad, headers: dict[str, str]
) -> Response:
    from web.reports import render as draw  # matplotlib: loaded on the first report, not at start

    content = draw.ad_png(ad_report(session, settings, study, ad), study.name)
    disposition = f'inline; filename="{_filename(ad.title, "png")}"'
    return Response(
        content, media_type="image/png", headers={**headers, "Content-Disposition": disposition}
    )


def _pdf(settings: Settings, session: Session, study: Study, headers: dict[str, str]) -> Response:
    from web.reports.study_pdf import study_pdf  # matplotlib: loaded on the first report

    content = study_pdf(study_report(session, settings, study))
    disposition = f'inline; filename="{_filename(study.name, "pdf")}"'
    return Response(
        content,
        media_type="application/pdf",
        headers={**headers, "Content-Disposition": disposition},
    )


@members.get("/results/ads/{ad_id}/report.png")
def ad_report_png(access: AdDep, session: SessionDep, settings: SettingsDep) -> Response:
    """The ad's report page as a PNG: curves with their 95% band, key moments, summary."""
    return _png(settings, session, access.study, access.ad, PRIVATE_HEADERS)


@members.get("/results/studies/{study_id}/report.pdf")
def study_report_pdf(study: StudyDep, session: SessionDep, settings: SettingsDep) -> Response:
    """The study's report: one page per ad, then data quality."""
    return _pdf(settings, session, study, PRIVATE_HEADERS)


@members.get("/results/compare/report.png")
def compare_report_png(
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    ad_ids: Annotated[list[int], Query(alias="ad")] = [],  # noqa: B006  (FastAPI copies it)
) -> Response:
    """The ads compared as a PNG: attention and smile (valence in emotion mode) side by side,
    the seconds where they differ for real hatched, and what holds in words."""
    from web.reports import compare_render  # matplotlib: loaded on the first report

    accesses = readable_ads(ad_ids, user, session)
    check_compare_count(len(accesses))
    ads = [a.ad for a in accesses]
    title = " vs ".join(ad.title for ad in ads)
    report = compare_report(
        session, settings, ads, accesses[0].study.organisation_id, f"Compared: {title}"
    )
    disposition = f'inline; filename="{_filename("compare-" + title, "png")}"'
    return Response(
        compare_render.compare_png(report),
        media_type="image/png",
        headers={**PRIVATE_HEADERS, "Content-Disposition": disposition},
    )


@members.get("/results/ads/{ad_id}/segments/report.png")
def segments_report_png(
    access: AdDep,
    session: SessionDep,
    settings: SettingsDep,
    var: Annotated[str, Query(min_length=1, max_length=64)],
    metric: Annotated[str, Query(max_length=32)] = "attention",
) -> Response:
    """One metric of the ad split by a pass-through variable as a PNG: the groups shown on the
    segments page, the seconds where they differ for real hatched, what holds in words."""
    from web.reports import compare_render  # matplotlib: loaded on the first report

    offered = catalogue.chart_metrics(catalogue.shows_emotions(session, access.study))
    if metric not in offered or not catalogue.measured(metric, access.study.on_device):
        raise Invalid(f"no curve {metric!r} for this ad")
    curves = segment_curves(session, settings, access, var)
    if len(curves.segments) < 2:
        raise Invalid(
            f"{var!r} has fewer than two groups shown (groups under {curves.min_cell_size} "
            "panelists are hidden): nothing to compare",
            code="too_few_groups",
        )
    title = f"{access.ad.title}: {catalogue.full_label(metric)} by {var}"
    report = segments_report(session, curves, metric, title)
    disposition = f'inline; filename="{_filename(f"{access.ad.title}-by-{var}", "png")}"'
    return Response(
        compare_render.compare_png(report),
        media_type="image/png",
        headers={**PRIVATE_HEADERS, "Content-Disposition": disposition},
    )


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
    return render(request, "reports/share.html", context, status_code, headers=PRIVATE_HEADERS)


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


@public.get("/report/{token}", response_class=HTMLResponse)
def shared_report(request: Request, token: str, session: SessionDep) -> HTMLResponse:
    """What the recipient of a link sees: each ad's picture and the PDF, no login."""
    study = links.open_link(session=session, token=token)
    context = {"study": study, "ads": study_ads(session, study), "token": token}
    return render(request, "reports/shared.html", context, headers=PUBLIC_HEADERS)


@public.get("/report/{token}/report.pdf")
def shared_pdf(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    return _pdf(settings, session, links.open_link(session=session, token=token), PUBLIC_HEADERS)


@public.get("/report/{token}/ads/{ad_id}.png")
def shared_png(token: str, ad_id: int, session: SessionDep, settings: SettingsDep) -> Response:
    study = links.open_link(session=session, token=token)
    ad = session.get(Ad, ad_id)
    if ad is None or ad.study_id != study.id:
        raise NotFound("No such ad in this report")
    return _png(settings, session, study, ad, PUBLIC_HEADERS)


router = APIRouter()
router.include_router(members)
router.include_router(api)
router.include_router(public)
