"""What a report shows, read through the results service so its rules (previews left out,
cell-size suppression, key-moment thresholds) apply exactly as on the analyst's pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.metrics import EMOTIONS, EXPRESSION_NAMES
from web.accounts.models import Organisation
from web.db import utcnow
from web.reports.compare_content import CompareReport, study_comparison
from web.results import catalogue, quality, service
from web.results.schemas import AdCurves, AdSummaryOut, KeyMoments, Quality
from web.settings import Settings
from web.studies import thumbnails
from web.studies.models import Ad, Study
from web.studies.thumbnails import Thumbnail

# Pictures of the ad under its curves.
REPORT_FRAMES = 8
# Always shown: what a client asks first (did they watch, did they smile).
BASE_METRICS = ("attention", "smile")
# Shown in emotion mode, when the results store has them: valence on its own -1..1 axis.
EMOTION_SUMMARY_METRICS = ("valence", "engagement")


@dataclass(frozen=True)
class AdReport:
    ad: Ad
    curves: AdCurves
    summary: AdSummaryOut
    moments: KeyMoments
    metrics: tuple[str, ...]  # base metrics present in the curves (and measured)
    emotion_metrics: tuple[str, ...]  # valence, engagement, the 7 emotions present (emotion mode)
    # Where a client reads how the emotion metrics are derived: the served page, with the
    # installation's address (CANDOR_BASE_URL), since a PDF or PNG has no site to be relative to.
    emotion_help: str = catalogue.EMOTION_DOCS_PATH
    # Expressions no model here measures: listed as "not measured", never drawn.
    not_measured: tuple[str, ...] = ()
    # In a study analysed on the panelists' devices: the expressions that mode does not measure.
    not_measured_on_device: tuple[str, ...] = ()
    # Pictures of the ad along its timeline (never of a panelist), with their files.
    frames: tuple[tuple[Thumbnail, bytes], ...] = ()  # each picture's JPEG


@dataclass(frozen=True)
class StudyReport:
    study: Study
    organisation: str
    generated_at: datetime
    ads: list[AdReport]
    quality: Quality
    # Whether its results carry emotions: from what its panelists agreed to (results/catalogue).
    emotions: bool = False
    # The ads compared, with the difference tests (two or more ads with data).
    comparison: CompareReport | None = None


def ad_report(session: Session, settings: Settings, study: Study, ad: Ad) -> AdReport:
    """One ad's curves (everyone), summary and key moments."""
    curves = service.ad_curves(session, ad, study, settings)
    present = curves.overall.curves
    emotion_metrics: tuple[str, ...] = ()
    if catalogue.shows_emotions(session, study):
        emotion_metrics = tuple(m for m in (*EMOTION_SUMMARY_METRICS, *EMOTIONS) if m in present)
    return AdReport(
        ad=ad,
        curves=curves,
        summary=service.summaries(session, [ad])[0],
        moments=service.moments_for(curves),
        metrics=tuple(
            m for m in BASE_METRICS if m in present and catalogue.measured(m, study.on_device)
        ),
        emotion_metrics=emotion_metrics,
        emotion_help=settings.base_url.rstrip("/") + catalogue.EMOTION_DOCS_PATH,
        not_measured=tuple(m for m in EXPRESSION_NAMES if not catalogue.measured(m)),
        not_measured_on_device=tuple(
            m
            for m in EXPRESSION_NAMES
            if catalogue.measured(m) and not catalogue.measured(m, study.on_device)
        ),
        frames=report_frames(settings, ad),
    )


def report_frames(settings: Settings, ad: Ad) -> tuple[tuple[Thumbnail, bytes], ...]:
    """REPORT_FRAMES pictures evenly along the ad, with their JPEGs."""
    picked = thumbnails.spread(thumbnails.thumbnails(settings, ad), REPORT_FRAMES)
    return tuple((t, jpeg) for t in picked if (jpeg := thumbnails.picture(settings, ad, t.index)))


def study_ads(session: Session, study: Study) -> list[Ad]:
    """The study's ads in their set order, read afresh."""
    return list(
        session.scalars(select(Ad).where(Ad.study_id == study.id).order_by(Ad.position, Ad.id))
    )


def study_report(session: Session, settings: Settings, study: Study) -> StudyReport:
    """Every ad of the study in its set order, and the study's data quality."""
    organisation = session.get(Organisation, study.organisation_id)
    ads = study_ads(session, study)
    return StudyReport(
        study=study,
        organisation=organisation.name if organisation else "",
        generated_at=utcnow(),
        ads=[ad_report(session, settings, study, ad) for ad in ads],
        quality=quality.quality(session, study.id),
        emotions=catalogue.shows_emotions(session, study),
        comparison=study_comparison(session, settings, ads, study.organisation_id, study.name),
    )
