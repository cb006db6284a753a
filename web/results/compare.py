"""Comparisons of ads and the organisation's norms, from the maintained aggregates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from web.results import maths
from web.results.models import CURVE_METRICS
from web.results.schemas import (
    AdSummaryOut,
    CompareAd,
    CompareCurve,
    Comparison,
    NormBand,
    Norms,
    QuartilesOut,
)
from web.results.service import CHART_METRICS, metric_curve, read_cells, summaries, summary_out
from web.studies.models import Ad, Study


def organisation_ads(session: Session, organisation_id: int) -> list[Ad]:
    query = (
        select(Ad)
        .join(Study, Study.id == Ad.study_id)
        .where(Study.organisation_id == organisation_id)
        .order_by(Ad.id)
    )
    return list(session.scalars(query))


def norms(session: Session, organisation_id: int, min_ads: int) -> Norms:
    """Quartiles of every summary figure over the organisation's ads that have data."""
    return norms_from(
        organisation_id, summaries(session, organisation_ads(session, organisation_id)), min_ads
    )


def norms_from(organisation_id: int, all_summaries: Sequence[AdSummaryOut], min_ads: int) -> Norms:
    """The norm figures, withheld (empty) while fewer than `min_ads` ads have results."""
    with_data = [s for s in all_summaries if s.n]
    if len(with_data) < min_ads:
        return Norms(
            organisation_id=organisation_id, n_ads=len(with_data), min_ads=min_ads, figures={}
        )
    fields = maths.Summary.__dataclass_fields__
    figures = maths.summary_norms(
        [maths.Summary(**{name: getattr(s, name) for name in fields}) for s in with_data]
    )
    return Norms(
        organisation_id=organisation_id,
        n_ads=len(with_data),
        min_ads=min_ads,
        figures={k: QuartilesOut(**asdict(q)) if q else None for k, q in figures.items()},
    )


def compare(
    session: Session, ads: Sequence[Ad], organisation_id: int, min_norm_ads: int
) -> Comparison:
    """Ads side by side: per second if equally long, else on percent of each ad's length."""
    if len(ads) < 2:
        raise ValueError("compare needs two or more ads")
    org_ads = organisation_ads(session, organisation_id)
    cells = read_cells(session, {a.id for a in [*ads, *org_ads]}, metrics=CURVE_METRICS)
    lengths = {
        a.id: maths.curve_length(cells[a.id].get("", {}), a.duration_s) for a in [*ads, *org_ads]
    }
    same_length = len({lengths[a.id] for a in ads}) == 1
    if same_length:
        length = lengths[ads[0].id]
        positions = maths.second_positions(length)
        x = [s + 0.5 for s in range(length)]
    else:
        positions = maths.normalised_positions()
        x = [round(p * 100, 3) for p in positions]

    compared = []
    for ad in ads:
        own = cells[ad.id].get("", {})
        curves = {}
        for metric in CHART_METRICS:
            curve = metric_curve(metric, own.get(metric, {}), lengths[ad.id])
            if same_length:
                curves[metric] = CompareCurve(
                    mean=curve.mean, ci_low=curve.ci_low, ci_high=curve.ci_high
                )
            else:
                curves[metric] = CompareCurve(
                    mean=maths.resample(curve.mean, positions),
                    ci_low=maths.resample(curve.ci_low, positions),
                    ci_high=maths.resample(curve.ci_high, positions),
                )
        compared.append(CompareAd(summary=summary_out(ad, own), curves=curves))

    bands = {}
    with_data = [a for a in org_ads if cells[a.id].get("", {}).get("attention")]
    for metric in CHART_METRICS if len(with_data) >= min_norm_ads else ():
        resampled = [
            maths.resample(
                maths.mean_curve(cells[a.id][""].get(metric, {}), lengths[a.id]), positions
            )
            for a in with_data
        ]
        quarts = maths.band(resampled)
        bands[metric] = NormBand(
            q1=[q.q1 if q else None for q in quarts],
            median=[q.median if q else None for q in quarts],
            q3=[q.q3 if q else None for q in quarts],
            n_ads=len(with_data),
        )
    return Comparison(
        axis="seconds" if same_length else "percent",
        x=x,
        ads=compared,
        norms_band=bands,
        norms=norms_from(
            organisation_id,
            [summary_out(a, cells[a.id].get("", {})) for a in org_ads],
            min_norm_ads,
        ),
    )
