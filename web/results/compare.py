"""Comparisons of ads and the organisation's norms, from the maintained aggregates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from web.errors import Invalid
from web.results import catalogue, maths
from web.results.schemas import (
    AdSummaryOut,
    CompareAd,
    CompareCurve,
    Comparison,
    NormBand,
    Norms,
    QuartilesOut,
)
from web.results.service import (
    check_metrics,
    emotion_studies,
    metric_curve,
    read_cells,
    summaries,
    summary_out,
)
from web.studies.models import Ad, Study

# On-device and server-mode curves come from different landmark models (docs/signals.md,
# "On-device mode"); no calibration between them has been measured, so they are never pooled:
# a norm is over ads of one mode, and ads of both modes are not compared on one axis.
NOT_CALIBRATED = (
    "ads analysed on the panelists' devices and ads analysed on the server are not compared: "
    "the two modes' curves are not calibrated against each other"
)


def organisation_ads(
    session: Session, organisation_id: int, *, on_device: bool | None = None
) -> list[Ad]:
    """The organisation's ads; with `on_device`, only those of studies analysed in that mode."""
    query = (
        select(Ad)
        .join(Study, Study.id == Ad.study_id)
        .where(Study.organisation_id == organisation_id)
        .order_by(Ad.id)
    )
    if on_device is not None:
        query = query.where(Study.on_device.is_(on_device))
    return list(session.scalars(query))


def same_mode(
    session: Session, all_summaries: Sequence[AdSummaryOut], on_device: bool
) -> list[AdSummaryOut]:
    """The summaries of ads whose study is analysed in the given mode (a norm's pool)."""
    ids = {s.study_id for s in all_summaries}
    if not ids:
        return []
    on = set(session.scalars(select(Study.id).where(Study.id.in_(ids), Study.on_device)))
    return [s for s in all_summaries if (s.study_id in on) == on_device]


def norms(session: Session, organisation_id: int, min_ads: int, on_device: bool = False) -> Norms:
    """Quartiles of every summary figure over the organisation's ads that have data, of one
    analysis mode (server by default); emotion figures too if any of its ads is in an
    emotion-mode study."""
    ads = organisation_ads(session, organisation_id, on_device=on_device)
    emotions = bool(emotion_studies(session, {ad.study_id for ad in ads}))
    return norms_from(organisation_id, summaries(session, ads), min_ads, emotions)


def _as_summary(s: AdSummaryOut) -> maths.Summary:
    e = s.emotions
    return maths.Summary(
        n=s.n,
        attention_share=s.attention_share,
        expressiveness=s.expressiveness,
        smile_peak_s=s.smile_peak_s,
        smile_peak=s.smile_peak,
        blink_rate_per_min=s.blink_rate_per_min,
        emotions=maths.EmotionSummary(
            engagement=e.engagement, valence=e.valence, valence_low_s=e.valence_low_s,
            valence_low=e.valence_low, valence_high_s=e.valence_high_s,
            valence_high=e.valence_high, peaks=(),
        ) if e else None,
    )  # fmt: skip


def norms_from(
    organisation_id: int,
    all_summaries: Sequence[AdSummaryOut],
    min_ads: int,
    emotions: bool = False,
) -> Norms:
    """The norm figures, withheld (empty) while fewer than `min_ads` ads have results; emotion
    figures (over emotion-mode ads) if asked."""
    with_data = [s for s in all_summaries if s.n]
    if len(with_data) < min_ads:
        return Norms(
            organisation_id=organisation_id, n_ads=len(with_data), min_ads=min_ads, figures={}
        )
    figures = maths.summary_norms([_as_summary(s) for s in with_data], emotions)
    return Norms(
        organisation_id=organisation_id,
        n_ads=len(with_data),
        min_ads=min_ads,
        figures={k: QuartilesOut(**asdict(q)) if q else None for k, q in figures.items()},
    )


def compare_metrics(session: Session, ads: Sequence[Ad]) -> tuple[str, ...]:
    """What the ads can be compared on: emotion metrics only if every one of them shows them."""
    with_emotions = emotion_studies(session, {ad.study_id for ad in ads})
    return catalogue.chart_metrics(all(ad.study_id in with_emotions for ad in ads))


def compare(
    session: Session,
    ads: Sequence[Ad],
    organisation_id: int,
    min_norm_ads: int,
    metrics: Sequence[str] = (),
) -> Comparison:
    """Ads side by side: per second if equally long, else on percent of each ad's length.

    `metrics` (default: every metric the ads can be compared on) are checked against
    compare_metrics; an emotion metric is refused unless every ad's study shows emotions.
    """
    if len(ads) < 2:
        raise ValueError("compare needs two or more ads")
    modes = set(
        session.scalars(select(Study.on_device).where(Study.id.in_({a.study_id for a in ads})))
    )
    if len(modes) > 1:
        raise Invalid(NOT_CALIBRATED)
    allowed = compare_metrics(session, ads)
    chosen = check_metrics(metrics, allowed) if metrics else allowed
    on_device = modes.pop()
    org_ads = organisation_ads(session, organisation_id, on_device=on_device)
    emotions = any(catalogue.group_of(m) in ("emotions", "engagement") for m in allowed)
    cells = read_cells(
        session,
        {a.id for a in [*ads, *org_ads]},
        metrics=sorted({"attention", *chosen, *catalogue.stored_metrics(emotions)}),
    )
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
        for metric in chosen:
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
        compared.append(CompareAd(summary=summary_out(ad, own, emotions), curves=curves))

    bands = {}
    with_data = [a for a in org_ads if cells[a.id].get("", {}).get("attention")]
    # A metric that is not measured has no norm: its band would be drawn from nothing.
    banded = (
        [m for m in chosen if catalogue.measured(m, on_device)]
        if len(with_data) >= min_norm_ads
        else []
    )
    for metric in banded:
        # The band of a metric is over the ads that have it (emotions: emotion-mode ads only).
        with_metric = [a for a in org_ads if cells[a.id].get("", {}).get(metric)]
        resampled = [
            maths.resample(
                maths.mean_curve(cells[a.id][""].get(metric, {}), lengths[a.id]), positions
            )
            for a in with_metric
        ]
        quarts = maths.band(resampled)
        bands[metric] = NormBand(
            q1=[q.q1 if q else None for q in quarts],
            median=[q.median if q else None for q in quarts],
            q3=[q.q3 if q else None for q in quarts],
            n_ads=len(with_metric),
        )
    org_emotions = emotion_studies(session, {a.study_id for a in org_ads}) if emotions else set()
    return Comparison(
        axis="seconds" if same_length else "percent",
        x=x,
        metrics=catalogue.infos(chosen, on_device),
        ads=compared,
        norms_band=bands,
        norms=norms_from(
            organisation_id,
            [summary_out(a, cells[a.id].get("", {}), a.study_id in org_emotions) for a in org_ads],
            min_norm_ads,
            emotions,
        ),
    )
