"""What a report's comparison page shows: the ads' curves side by side (compare.compare) and
the difference tests (web/results/differences.py), read as the compare page reads them. No
matplotlib here: web/reports/compare_render.py draws it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from web.clips.models import Clip
from web.results import catalogue, compare, differences
from web.results.api import MAX_COMPARED_ADS
from web.results.differences import Differences
from web.results.schemas import AdCurves
from web.settings import Settings
from web.studies.models import Ad

BASE = ("attention", "smile")


class Curve(Protocol):
    mean: list[float | None]
    ci_low: list[float | None]
    ci_high: list[float | None]


@dataclass(frozen=True)
class Group:
    """One curve per metric of one group (an ad, or a segment of one), with its n."""

    label: str
    n: int
    curves: Mapping[str, Curve]


@dataclass(frozen=True)
class CompareReport:
    """Groups side by side on one axis with the difference tests between them."""

    title: str
    x: list[float]
    percent: bool  # the axis is percent of each ad (ads of different lengths)
    groups: list[Group]
    tested: Differences
    metrics: tuple[str, ...]


def compare_report(
    session: Session, settings: Settings, ads: Sequence[Ad], organisation_id: int, title: str
) -> CompareReport:
    """Attention and smile (and valence if every ad's study is in emotion mode), compared."""
    allowed = compare.compare_metrics(session, ads)
    on_device = all(ad.study.on_device for ad in ads)  # one mode: mixed modes are refused
    metrics = tuple(
        m for m in (*BASE, "valence") if m in allowed and catalogue.measured(m, on_device)
    )
    comparison = compare.compare(session, ads, organisation_id, settings.min_norm_ads, metrics)
    tested = differences.between_ads(session, ads, metrics)
    return CompareReport(
        title, comparison.x, comparison.axis == "percent",
        [Group(a.summary.title, a.summary.n, a.curves) for a in comparison.ads],
        tested, metrics,
    )  # fmt: skip


def segments_report(session: Session, curves: AdCurves, metric: str, title: str) -> CompareReport:
    """One metric of an ad split by a pass-through variable (service.ad_curves: the same groups
    and blanked cells as the page), with the difference tests between the groups shown."""
    tested = differences.between_segments(session, curves, [metric])
    return CompareReport(
        title, [s + 0.5 for s in curves.seconds], False,
        [Group(s.segment_value, s.n, s.curves) for s in curves.segments],
        tested, (metric,),
    )  # fmt: skip


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
