"""Results pages for analysts (Jinja2), the ad's video for them, and the chart library asset."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from candor.quality import EXCLUSION_REASONS
from web.accounts.auth import CurrentUserDep
from web.ad_serving import serve
from web.clips.samples import sample_count
from web.deps import SessionDep, SettingsDep
from web.errors import NotFound
from web.pages import render, templates
from web.results import catalogue, compare, differences, maths, overview, quality, service
from web.results.api import (
    MetricsQuery,
    check_compare_count,
    segment_curves,
)
from web.results.api import router as api_router
from web.results.deps import AdDep, StudyDep, readable_ads
from web.results.differences_api import TestChoiceDep
from web.results.differences_api import router as differences_router
from web.results.frames import frames_out
from web.results.frames import router as frames_router
from web.results.quality import DECLINE_REASONS
from web.results.schemas import MetricInfo
from web.studies import thumbnails

WEB_DIR = Path(__file__).resolve().parent.parent
# The charting library (uPlot) comes from npm: `scripts/setup` runs `npm ci`, and it is served
# straight from node_modules, whitelisted file by file.
NODE_MODULES = WEB_DIR.parent / "node_modules"
VENDOR_FILES = {
    "uplot/uPlot.iife.min.js": NODE_MODULES / "uplot/dist/uPlot.iife.min.js",
    "uplot/uPlot.min.css": NODE_MODULES / "uplot/dist/uPlot.min.css",
    # Swagger UI for /docs (web/api_docs.py); 5.17.14, the last release without install-time
    # telemetry (@scarf/scarf).
    "swagger-ui/swagger-ui-bundle.js": NODE_MODULES / "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui/swagger-ui.css": NODE_MODULES / "swagger-ui-dist/swagger-ui.css",
}
# Every metric's label, with its AU for an expression ("Smile (AU12)").
METRIC_LABELS = {m: catalogue.full_label(m) for m in catalogue.stored_metrics(emotions=True)}
# Where the picker's tooltip on a metric that is not measured sends the reader.
SIGNALS_DOCS_PATH = "/help/signals"
# The picker's groups, in order (Emotions holds the 7 emotions and valence).
PICKER_GROUPS = (
    ("attention", "Attention"),
    ("expressions", "Expressions"),
    ("emotions", "Emotions"),
    ("engagement", "Engagement"),
)

# Pictures of each ad in a row on the compare page.
COMPARE_FRAMES = 8

router = APIRouter()
router.include_router(api_router)
router.include_router(differences_router)
router.include_router(frames_router)
# The site's one template environment, so results pages get the same header (who is logged in,
# the log-out form's CSRF token) and the same no-store caching as every other page.
templates.env.globals.update(
    metric_labels=METRIC_LABELS,
    exclusion_labels=EXCLUSION_REASONS,
    picker_groups=PICKER_GROUPS,
    derivation_url=catalogue.derivation_url,
    emotion_docs=catalogue.EMOTION_DOCS_PATH,
    not_measured_why=catalogue.NOT_MEASURED_WHY,
    signals_docs=SIGNALS_DOCS_PATH,
    decline_labels=DECLINE_REASONS,
)
templates.env.globals["peak_min"] = maths.PEAK_MIN
templates.env.globals["mean_of"] = lambda values: (
    sum(present) / len(present) if (present := [v for v in values if v is not None]) else None
)
templates.env.filters["pct"] = lambda v: "\u2013" if v is None else f"{v * 100:.0f}%"
templates.env.filters["num"] = lambda v, d=2: "\u2013" if v is None else f"{v:.{d}f}"


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return render(request, f"results/{name}", context, status_code)


@router.get("/results", response_class=HTMLResponse, include_in_schema=False)
def results_index(request: Request, user: CurrentUserDep, session: SessionDep) -> HTMLResponse:
    """The studies of every organisation the user belongs to, with panelists, status and when
    something last happened."""
    return _render(request, "index.html", lines=overview.study_lines(session, user.id))


@router.get("/results/studies/{study_id}", response_class=HTMLResponse, include_in_schema=False)
def study_page(
    request: Request, study: StudyDep, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    """Each ad's summary and progress, the organisation's norms, and data quality."""
    org_summaries = service.summaries(
        session, compare.organisation_ads(session, study.organisation_id)
    )
    ads = [s for s in org_summaries if s.study_id == study.id]
    emotions = catalogue.shows_emotions(session, study)
    return _render(
        request,
        "study.html",
        study=study,
        ads=ads,
        emotions=emotions,
        progress=quality.progress_by_ad(session, [s.ad_id for s in ads]),
        norms=compare.norms_from(
            study.organisation_id,
            compare.same_mode(session, org_summaries, study.on_device),
            settings.min_norm_ads,
            emotions,
        ),
        quality=quality.quality(session, study.id),
        samples=sample_count(session, study.id),
    )


@dataclass(frozen=True)
class Picked:
    """What a page shows from ?metric=…: the view, every metric offered, how many asked-for
    metrics it left out because this ad doesn't have them (a shared address may name one), and
    a note naming any asked for that are not measured (dropped, never drawn flat)."""

    view: tuple[str, ...]
    offered: list[MetricInfo]
    unavailable: int
    not_measured_note: str | None


def picked(asked: list[str] | None, emotions: bool, on_device: bool = False) -> Picked:
    """The metrics a page shows (from ?metric=…, else the default view) and every one it offers.

    A metric this page doesn't offer (unknown, or an emotion metric outside emotion mode) is left
    out and counted rather than refused: a view shared from another ad must still open. The
    count, not the names, goes back to the page, so that nothing emotion-shaped is echoed on the
    page of a study that is not in emotion mode.
    """
    offered = catalogue.chart_metrics(emotions)
    asked = asked or []
    kept = tuple(dict.fromkeys(m for m in asked if m in offered))
    unavailable = len({m for m in asked if m not in offered})
    view, not_measured = catalogue.drawable(kept, on_device)
    return Picked(
        view or catalogue.default_view(emotions, on_device),
        catalogue.infos(offered, on_device),
        unavailable,
        catalogue.not_measured_note(not_measured, on_device),
    )


@router.get("/results/ads/{ad_id}", response_class=HTMLResponse, include_in_schema=False)
def ad_page(
    request: Request,
    access: AdDep,
    session: SessionDep,
    settings: SettingsDep,
    metrics: MetricsQuery = None,
) -> HTMLResponse:
    """The ad playing above its curves, with the metric picker (the chosen set lives in the
    URL as ?metric=…), key moments, summary and exports."""
    emotions = catalogue.shows_emotions(session, access.study)
    choice = picked(metrics, emotions, access.study.on_device)
    view, offered = choice.view, choice.offered
    curves = service.ad_curves(session, access.ad, access.study, settings)
    moments = service.moments_for(curves)
    pictures = frames_out(access.ad, thumbnails.thumbnails(settings, access.ad))
    chart = {
        "duration": access.ad.duration_s,
        "seconds": curves.seconds,
        "metrics": [m.name for m in offered],
        "view": list(view),
        "labels": {m.name: METRIC_LABELS[m.name] for m in offered},
        "info": {m.name: m.model_dump() for m in offered},
        "curves": {m.name: curves.overall.curves[m.name].model_dump() for m in offered},
        "moments": [m.model_dump() for m in moments.moments],
        # Pictures of the ad along the time axis, drawn under the chart (results.js).
        "frames": [f.model_dump() for f in pictures.frames],
    }
    return _render(
        request,
        "ad.html",
        ad=access.ad,
        study=access.study,
        curves=curves,
        summary=service.summaries(session, [access.ad])[0],
        moments=moments,
        progress=quality.progress_by_ad(session, [access.ad.id])[access.ad.id],
        chart=chart,
        view=view,
        offered=offered,
        unavailable=choice.unavailable,
        dropped_note=choice.not_measured_note,
        emotions=emotions,
        samples=sample_count(session, access.study.id),
    )


@router.get("/results/ads/{ad_id}/segments", response_class=HTMLResponse, include_in_schema=False)
def segments_page(
    request: Request,
    access: AdDep,
    session: SessionDep,
    settings: SettingsDep,
    testing: TestChoiceDep,
    var: Annotated[str | None, Query(max_length=64)] = None,
    metric: Annotated[str, Query(max_length=32)] = "attention",
) -> HTMLResponse:
    """One metric split by a pass-through variable; small groups are hidden with a note; where
    the groups shown differ for real (docs/results.md), the seconds are shaded and said."""
    offered = catalogue.chart_metrics(catalogue.shows_emotions(session, access.study))
    # A shared address naming a metric this ad doesn't have, or one not measured, shows
    # attention, with a note.
    unavailable = int(metric not in offered)
    on_device = access.study.on_device
    dropped_note = catalogue.not_measured_note(
        catalogue.drawable((metric,), on_device)[1], on_device
    )
    if unavailable or dropped_note:
        metric = "attention"
    variables = service.segment_variables(session, access.ad.id)
    chosen = var or (variables[0] if variables else None)
    curves = segment_curves(session, settings, access, chosen)
    tested = (
        differences.between_segments(
            session, curves, [metric],
            test=testing.test, alpha=testing.alpha, correction=testing.correction,
        )
        if len(curves.segments) >= 2 else None
    )  # fmt: skip
    chart = {
        "duration": access.ad.duration_s,
        "seconds": curves.seconds,
        "metric": metric,
        "label": METRIC_LABELS[metric],
        "range": list(catalogue.value_range(metric)),
        "overall": curves.overall.curves[metric].model_dump(),
        "segments": [
            {"value": s.segment_value, "n": s.n, "curve": s.curves[metric].model_dump()}
            for s in curves.segments
        ],
        "significant": tested.metrics[metric].significant_seconds if tested else [],
    }
    return _render(
        request,
        "segments.html",
        tested=tested,
        ad=access.ad,
        study=access.study,
        curves=curves,
        var=chosen,
        metric=metric,
        offered=catalogue.infos(offered, on_device),
        unavailable=unavailable,
        dropped_note=dropped_note,
        chart=chart,
    )


@router.get("/results/compare", response_class=HTMLResponse, include_in_schema=False)
def compare_page(
    request: Request,
    user: CurrentUserDep,
    session: SessionDep,
    settings: SettingsDep,
    testing: TestChoiceDep,
    ad_ids: Annotated[list[int], Query(alias="ad")] = [],  # noqa: B006  (FastAPI copies it)
    metrics: MetricsQuery = None,
) -> HTMLResponse:
    """Two or more ads side by side with the organisation's norms band, on the picked metrics
    (emotion metrics only if every ad's study is in emotion mode); with fewer ticked, a list of
    the ads one may compare, to tick them there."""
    if len(set(ad_ids)) < 2:
        return _render(
            request,
            "compare_pick.html",
            ads=overview.readable_ads(session, user.id),
            ticked=set(ad_ids),
            status_code=400 if ad_ids else 200,
        )
    accesses = readable_ads(ad_ids, user, session)
    check_compare_count(len(accesses))
    ads = [a.ad for a in accesses]
    emotions = catalogue.emotion_studies(session, {a.study.id for a in accesses}) == {
        a.study.id for a in accesses
    }
    # Ads of the two modes are never compared (compare.compare refuses): one mode here.
    on_device = all(a.study.on_device for a in accesses)
    choice = picked(metrics, emotions, on_device)
    view, offered = choice.view, choice.offered
    comparison = compare.compare(
        session, ads, accesses[0].study.organisation_id, settings.min_norm_ads, view
    )
    strips = {ad.id: frames_out(ad, thumbnails.spread(thumbnails.thumbnails(settings, ad),
                                                      COMPARE_FRAMES)) for ad in ads}  # fmt: skip
    tested = differences.between_ads(
        session, ads, [m for m in view if catalogue.measured(m, on_device)],
        test=testing.test, alpha=testing.alpha, correction=testing.correction,
    )  # fmt: skip
    return _render(
        request,
        "compare.html",
        comparison=comparison,
        tested=tested,
        strips=strips,
        studies={a.ad.id: a.study for a in accesses},
        view=view,
        offered=offered,
        unavailable=choice.unavailable,
        dropped_note=choice.not_measured_note,
        emotions=emotions,
        keep=[("ad", str(a.ad.id)) for a in accesses],
        chart={
            "axis": comparison.axis,
            "x": comparison.x,
            "metrics": list(view),
            "labels": {m: METRIC_LABELS[m] for m in view},
            "info": {m.name: m.model_dump() for m in comparison.metrics},
            "ads": [
                {
                    "title": c.summary.title,
                    "curves": {m: v.model_dump() for m, v in c.curves.items()},
                }
                for c in comparison.ads
            ],
            "norms": {m: b.model_dump() for m, b in comparison.norms_band.items()},
            # Seconds where a difference between ads holds (none on the percent axis).
            "significant": {m: d.significant_seconds for m, d in tested.metrics.items()},
        },
    )


@router.get("/results/ads/{ad_id}/video", include_in_schema=False)
def ad_video(access: AdDep, settings: SettingsDep, request: Request) -> Response:
    """The ad's video for its members, with Range requests so the player can seek."""
    ad = access.ad
    return serve(settings, ad.storage_key, ad.content_type, request.headers.get("range"))


@router.get("/results/ads/{ad_id}/poster", include_in_schema=False)
def ad_poster(access: AdDep, settings: SettingsDep, request: Request) -> Response:
    return serve(settings, access.ad.poster_key, "image/jpeg", request.headers.get("range"))


@router.get("/vendor/{name:path}", include_in_schema=False)
def vendor_asset(name: str) -> FileResponse:
    """A whitelisted file of an npm package (run scripts/setup to install them)."""
    path = VENDOR_FILES.get(name)
    if path is None or not path.is_file():
        raise NotFound(f"{name} not installed: run scripts/setup (npm ci)")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})
