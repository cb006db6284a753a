"""JSON REST API of the results (OpenAPI at /docs) and the CSV exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from web.accounts.auth import CurrentUserDep, membership_for
from web.deps import SessionDep, SettingsDep
from web.errors import Invalid
from web.results import catalogue, compare, export, quality, service
from web.results.deps import AdDep, StudyDep, readable_ads
from web.results.schemas import (
    AdCurves,
    AdSummaryOut,
    Comparison,
    KeyMoments,
    Norms,
    Progress,
    Quality,
    StudySummaries,
)
from web.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["results"])

MAX_COMPARED_ADS = 8
SegmentQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="Split by this pass-through variable; small groups are never returned",
    ),
]
AdIdsQuery = Annotated[
    list[int], Query(alias="ad", description="Two or more ad ids, e.g. ?ad=1&ad=2")
]
MetricsQuery = Annotated[
    list[str] | None,
    Query(
        alias="metric",
        description="Metric names, e.g. ?metric=smile&metric=joy (emotion metrics only for a "
        "study in emotion mode); default: every one that applies",
    ),
]


def segment_curves(
    session: SessionDep, settings: SettingsDep, access: AdDep, segment: str | None
) -> AdCurves:
    """The ad's curves, split by `segment` if one is asked for (an unknown one is Invalid)."""
    return service.ad_curves(session, access.ad, access.study, settings, segment or None)


@router.get("/ads/{ad_id}/curves", response_model=AdCurves)
def ad_curves(
    access: AdDep, session: SessionDep, settings: SettingsDep, segment: SegmentQuery = None
) -> AdCurves:
    """Mean, 95% CI and n per second for every metric, for everyone or split by a variable."""
    return segment_curves(session, settings, access, segment)


@router.get("/ads/{ad_id}/summary", response_model=AdSummaryOut)
def ad_summary(access: AdDep, session: SessionDep) -> AdSummaryOut:
    """Attention share, expressiveness, smile peak, blink rate and n of one ad."""
    return service.summaries(session, [access.ad])[0]


@router.get("/ads/{ad_id}/key-moments", response_model=KeyMoments)
def ad_key_moments(
    access: AdDep, session: SessionDep, settings: SettingsDep, metrics: MetricsQuery = None
) -> KeyMoments:
    """The strongest peaks at seconds where attention holds: of every measured expression (and
    emotion, in emotion mode) by default, or of the metrics asked for (one that is not measured
    is a 400)."""
    curves = service.ad_curves(session, access.ad, access.study, settings)
    return service.moments_for(curves, metrics or [])


@router.get("/ads/{ad_id}/progress", response_model=Progress)
def ad_progress(access: AdDep, session: SessionDep) -> Progress:
    """The ad's clips by processing state."""
    return quality.progress_by_ad(session, [access.ad.id])[access.ad.id]


@router.get("/studies/{study_id}/summaries", response_model=StudySummaries)
def study_summaries(study: StudyDep, session: SessionDep, settings: SettingsDep) -> StudySummaries:
    """Every ad's summary and progress, with the organisation's norms."""
    org_summaries = service.summaries(
        session, compare.organisation_ads(session, study.organisation_id)
    )
    ads = [s for s in org_summaries if s.study_id == study.id]
    return StudySummaries(
        study_id=study.id,
        name=study.name,
        ads=ads,
        progress=quality.progress_by_ad(session, [s.ad_id for s in ads]),
        norms=compare.norms_from(
            study.organisation_id,
            compare.same_mode(session, org_summaries, study.on_device),
            settings.min_norm_ads,
            catalogue.shows_emotions(session, study),
        ),
    )


@router.get("/studies/{study_id}/quality", response_model=Quality)
def study_quality(study: StudyDep, session: SessionDep) -> Quality:
    """Consent rate, declines, usable sessions, face-found share and exclusion reasons."""
    return quality.quality(session, study.id)


@router.get("/organisations/{organisation_id}/norms", response_model=Norms)
def organisation_norms(
    organisation_id: int,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    on_device: bool = False,
) -> Norms:
    """Median and quartiles of each summary figure over the organisation's ads of one analysis
    mode: server mode, or with `on_device=true` the studies analysed on the panelists' devices
    (the two are not pooled: no calibration between them has been measured)."""
    membership_for(session, user, organisation_id)
    return compare.norms(session, organisation_id, settings.min_norm_ads, on_device)


@router.get("/compare", response_model=Comparison)
def compare_ads(
    ad_ids: AdIdsQuery,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    metrics: MetricsQuery = None,
) -> Comparison:
    """Two or more ads on one axis (percent of each ad if lengths differ), with norms."""
    accesses = readable_ads(ad_ids, user, session)
    check_compare_count(len(accesses))
    ads = [a.ad for a in accesses]
    chosen = service.check_metrics(metrics or [], compare.compare_metrics(session, ads))
    return compare.compare(
        session, ads, accesses[0].study.organisation_id, settings.min_norm_ads, chosen
    )


def check_compare_count(count: int) -> None:
    if not 2 <= count <= MAX_COMPARED_ADS:
        raise Invalid(f"compare needs 2 to {MAX_COMPARED_ADS} different ads, got {count}")


def _csv_response(lines: object, filename: str) -> StreamingResponse:
    return StreamingResponse(
        lines,  # type: ignore[arg-type]
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/ads/{ad_id}/curves.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def ad_curves_csv(
    access: AdDep,
    session: SessionDep,
    settings: SettingsDep,
    segment: SegmentQuery = None,
) -> StreamingResponse:
    """CSV of the aggregated curves (long format, every metric with its label, AU and, for an
    emotion, the link to its derivation), with the same suppression as the API."""
    curves = segment_curves(session, settings, access, segment)
    suffix = "-by-" + export.file_stem(segment, "segment") if segment else ""
    lines = export.curves_csv(curves, public_address(settings))
    stem = export.file_stem(access.ad.title, f"ad-{access.ad.id}")
    return _csv_response(lines, f"{stem}-curves{suffix}.csv")


def public_address(settings: Settings) -> str:
    """Candor's public address (CANDOR_BASE_URL), for links written into exports."""
    return settings.base_url.rstrip("/")


@router.get(
    "/ads/{ad_id}/panelists.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def ad_panelists_csv(
    access: AdDep, session: SessionDep, settings: SettingsDep
) -> StreamingResponse:
    """CSV of per-panelist curves: pseudonymous ids, pass-through variables k-anonymised, each
    second's quality `flag`; a column per metric named with its AU (expressions) or
    "(inferred)" (emotions). Every column is explained at /help/results#exports."""
    lines = export.panelist_csv(
        session,
        settings,
        access.ad.id,
        access.study.id,
        service.min_cell_size(access.study, settings),
        emotions=catalogue.shows_emotions(session, access.study),
        on_device=access.study.on_device,
    )
    stem = export.file_stem(access.ad.title, f"ad-{access.ad.id}")
    return _csv_response(lines, f"{stem}-panelists.csv")
