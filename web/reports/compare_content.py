"""What a report's comparison page shows: the ads' curves side by side (compare.compare) and
the difference tests (web/results/differences.py), read as the compare page reads them. No
matplotlib here: web/reports/compare_render.py draws it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from web.panel.models import Clip
from web.results import catalogue, compare, differences
from web.results.api import MAX_COMPARED_ADS
from web.results.differences import Differences
from web.results.schemas import Comparison
from web.settings import Settings
from web.studies.models import Ad

BASE = ("attention", "smile")


@dataclass(frozen=True)
class CompareReport:
    title: str
    comparison: Comparison
    tested: Differences
    metrics: tuple[str, ...]


def compare_report(
    session: Session, settings: Settings, ads: Sequence[Ad], organisation_id: int, title: str
) -> CompareReport:
    """Attention and smile (and valence if every ad's study is in emotion mode), compared."""
    allowed = compare.compare_metrics(session, ads)
    metrics = tuple(m for m in (*BASE, "valence") if m in allowed and catalogue.measured(m))
    comparison = compare.compare(session, ads, organisation_id, settings.min_norm_ads, metrics)
    tested = differences.between_ads(session, ads, metrics)
    return CompareReport(title, comparison, tested, metrics)


def study_comparison(
    session: Session, settings: Settings, ads: Sequence[Ad], organisation_id: int, name: str
) -> CompareReport | None:
    """The study PDF's comparison page: its ads with data, if two to MAX_COMPARED_ADS."""
    with_data = [a for a in ads if compare_ready(session, a)]
    if not 2 <= len(with_data) <= MAX_COMPARED_ADS:
        return None
    return compare_report(
        session, settings, with_data, organisation_id, f"{name}: the ads compared"
    )


def compare_ready(session: Session, ad: Ad) -> bool:
    """Whether the ad has a counted panelist (one in the aggregates)."""
    query = select(Clip.id).where(Clip.ad_id == ad.id, Clip.aggregated.is_(True)).limit(1)
    return session.scalar(query) is not None
