"""Report routes: downloads for members and the public pages a link opens (the links themselves
are web/reports/link_views.py; the headers each router's answers carry, headers.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from web.accounts.auth import CurrentUserDep
from web.accounts.deps import LoggedInGuard
from web.deps import SessionDep, SettingsDep
from web.errors import Invalid, NotFound
from web.pages import render
from web.reports import link_views, links
from web.reports.compare_content import compare_report, segments_report
from web.reports.content import ad_report, study_ads, study_report
from web.reports.headers import PRIVATE_HEADERS, PUBLIC_HEADERS, headed
from web.results import catalogue
from web.results.api import check_compare_count, segment_curves
from web.results.deps import AdDep, StudyDep, readable_ads
from web.results.export import file_stem
from web.settings import Settings
from web.studies.models import Ad, Study

members = APIRouter(
    include_in_schema=False, dependencies=[LoggedInGuard], route_class=headed(PRIVATE_HEADERS)
)
public = APIRouter(include_in_schema=False, route_class=headed(PUBLIC_HEADERS))


def _filename(text: str, suffix: str) -> str:
    return f"{file_stem(text, 'report')}.{suffix}"


def _png(settings: Settings, session: Session, study: Study, ad: Ad) -> Response:
    from web.reports import render as draw  # matplotlib: loaded on the first report, not at start

    content = draw.ad_png(ad_report(session, settings, study, ad), study.name)
    disposition = f'inline; filename="{_filename(ad.title, "png")}"'
    return Response(content, media_type="image/png", headers={"Content-Disposition": disposition})


def _pdf(settings: Settings, session: Session, study: Study) -> Response:
    from web.reports.study_pdf import study_pdf  # matplotlib: loaded on the first report

    content = study_pdf(study_report(session, settings, study))
    disposition = f'inline; filename="{_filename(study.name, "pdf")}"'
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": disposition},
    )


@members.get("/results/ads/{ad_id}/report.png")
def ad_report_png(access: AdDep, session: SessionDep, settings: SettingsDep) -> Response:
    """The ad's report page as a PNG: curves with their 95% band, key moments, summary."""
    return _png(settings, session, access.study, access.ad)


@members.get("/results/studies/{study_id}/report.pdf")
def study_report_pdf(study: StudyDep, session: SessionDep, settings: SettingsDep) -> Response:
    """The study's report: one page per ad, then data quality."""
    return _pdf(settings, session, study)


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
        headers={"Content-Disposition": disposition},
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
        headers={"Content-Disposition": disposition},
    )


@public.get("/report/{token}", response_class=HTMLResponse)
def shared_report(request: Request, token: str, session: SessionDep) -> HTMLResponse:
    """What the recipient of a link sees: each ad's picture and the PDF, no login."""
    study = links.open_link(session=session, token=token)
    context = {"study": study, "ads": study_ads(session, study), "token": token}
    return render(request, "reports/shared.html", context)


@public.get("/report/{token}/report.pdf")
def shared_pdf(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    return _pdf(settings, session, links.open_link(session=session, token=token))


@public.get("/report/{token}/ads/{ad_id}.png")
def shared_png(token: str, ad_id: int, session: SessionDep, settings: SettingsDep) -> Response:
    study = links.open_link(session=session, token=token)
    ad = session.get(Ad, ad_id)
    if ad is None or ad.study_id != study.id:
        raise NotFound("No such ad in this report")
    return _png(settings, session, study, ad)


router = APIRouter()
router.include_router(members)
router.include_router(link_views.router)
router.include_router(public)
