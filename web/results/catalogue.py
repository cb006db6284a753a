"""What each metric is called and shown as, where its definition lives, and which metrics an
ad's study shows: the web side of `candor.metrics`, read by the API, pages and exports."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import ColumnElement, Exists, and_, exists, or_, select
from sqlalchemy.orm import Session

from candor.metrics import (
    CURVE_METRICS,
    EMOTION_METRICS,
    EMOTIONS,
    EXPRESSION_BY_NAME,
    EXPRESSION_NAMES,
    METRIC_RANGE,
    NOT_MEASURED,
    QUALITY_METRICS,
    Expression,
)
from web.clips.lifecycle import consented
from web.clips.models import PanelSession
from web.results.schemas import MetricInfo
from web.studies.models import Study

Group = Literal["attention", "expressions", "emotions", "engagement", "quality"]

# The documented derivation of every emotion metric: docs/emotions.md, served at this path with
# one anchor per metric (web/help.py).
EMOTION_DOCS_PATH = "/help/emotions"
_OTHER_LABELS = {
    "attention": "Attention",
    "blinks": "Blinks",
    "face_present": "Face present",
    "bystander": "Bystander",
    "valence": "Valence",
    "engagement": "Engagement",
    **{e: e.capitalize() for e in EMOTIONS},
}
# What the ad page draws (quality metrics are in the API and exports only).
BASE_CHART_METRICS: tuple[str, ...] = ("attention", *EXPRESSION_NAMES)
DEFAULT_VIEW: tuple[str, ...] = ("attention", "smile")
DEFAULT_EMOTION_VIEW: tuple[str, ...] = ("attention", "smile", "valence")
# Why an expression in candor.metrics.NOT_MEASURED has no curve: said in the picker's tooltip,
# the API's schema, the exports and the reports (docs/signals.md has each source's figures).
NOT_MEASURED_WHY = (
    "no model here measures it on real faces (on the development set it stays at zero where "
    "a person sees it), so it has no curve rather than a flat zero"
)


def emotion_studies(session: Session, study_ids: Iterable[int]) -> set[int]:
    """Which of the studies' results carry emotion metrics, in one query, read from what their
    panelists agreed to: a study someone has consented to shows them iff one of its panelists
    agreed under emotion mode (the flag their consent fixed on their session,
    `PanelSession.emotion_mode`), whatever the study's setting says now; a study no panelist has
    consented to yet, by its setting (what the next panelist will agree to)."""
    ids = set(study_ids)
    if not ids:
        return set()

    def any_consented(*where: ColumnElement[bool]) -> Exists:
        # EXISTS, not a count of every session's consent: the first agreeing panelist answers
        # it (every results request asks, and a study may have 10,000 panelists).
        return exists().where(
            PanelSession.study_id == Study.id,
            PanelSession.is_preview.is_(False),
            consented(PanelSession.id),
            *where,
        )

    query = select(Study.id).where(
        Study.id.in_(ids),
        or_(
            any_consented(PanelSession.emotion_mode.is_(True)),
            and_(~any_consented(), Study.emotion_mode.is_(True)),
        ),
    )
    return set(session.scalars(query))


def shows_emotions(session: Session, study: Study) -> bool:
    """Whether the study's results carry emotion metrics (see `emotion_studies`)."""
    return study.id in emotion_studies(session, [study.id])


def stored_metrics(emotions: bool) -> tuple[str, ...]:
    """Every metric the API and exports carry for a study (emotion metrics iff emotions)."""
    return (*CURVE_METRICS, *EMOTION_METRICS) if emotions else CURVE_METRICS


def chart_metrics(emotions: bool) -> tuple[str, ...]:
    """The metrics one can pick on the pages: attention, expressions, emotions if on."""
    return (*BASE_CHART_METRICS, *EMOTION_METRICS) if emotions else BASE_CHART_METRICS


def measured(metric: str) -> bool:
    """False for an expression no model here measures (candor.metrics.NOT_MEASURED)."""
    return metric not in NOT_MEASURED


def default_view(emotions: bool) -> tuple[str, ...]:
    """The curves a page shows when none are asked for; never a metric that is not measured."""
    return tuple(m for m in (DEFAULT_EMOTION_VIEW if emotions else DEFAULT_VIEW) if measured(m))


def drawable(asked: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The asked metrics split into those that can be drawn and those not measured."""
    return tuple(m for m in asked if measured(m)), tuple(m for m in asked if not measured(m))


def not_measured_note(metrics: tuple[str, ...]) -> str | None:
    """What a page says when a URL asked for curves that are not measured; None if none were."""
    if not metrics:
        return None
    names = ", ".join(full_label(m) for m in metrics)
    verb = "is" if len(metrics) == 1 else "are"
    return f"{names} {verb} not measured and not drawn: {NOT_MEASURED_WHY}."


def group_of(metric: str) -> Group:
    if metric == "attention":
        return "attention"
    if metric in EXPRESSION_BY_NAME:
        return "expressions"
    if metric == "engagement":
        return "engagement"
    if metric in EMOTION_METRICS:
        return "emotions"
    if metric in QUALITY_METRICS:
        return "quality"
    raise ValueError(f"unknown metric {metric!r}")


def derivation_url(metric: str) -> str | None:
    """Where an emotion metric's derivation is documented; None for observable metrics."""
    return f"{EMOTION_DOCS_PATH}#{metric}" if metric in EMOTION_METRICS else None


def label(metric: str) -> str:
    """The plain name of a metric, e.g. "Smile"."""
    expression = EXPRESSION_BY_NAME.get(metric)
    if expression is not None:
        return expression.label
    return _OTHER_LABELS[metric]


def au_text(expression: Expression) -> str:
    """An expression's action unit as one flat phrase that can sit in parentheses after its
    name: "AU12", and "AU12, one side" for the contract's "AU12 (one side)", so that no label
    reads "Smirk (AU12 (one side))"."""
    return expression.au.replace(" (", ", ").replace("(", "").replace(")", "")


def full_label(metric: str) -> str:
    """The name with its FACS action unit for an expression, e.g. "Smile (AU12)"."""
    expression = EXPRESSION_BY_NAME.get(metric)
    return f"{expression.label} ({au_text(expression)})" if expression else label(metric)


def value_range(metric: str) -> tuple[float, float | None]:
    if metric == "blinks":
        return (0.0, None)  # a count per second
    return METRIC_RANGE.get(metric, (0.0, 1.0))


def info(metric: str) -> MetricInfo:
    low, high = value_range(metric)
    expression = EXPRESSION_BY_NAME.get(metric)
    return MetricInfo(
        name=metric,
        label=label(metric),
        group=group_of(metric),
        au=au_text(expression) if expression else None,
        description=expression.description if expression else None,
        min=low,
        max=high,
        derivation=derivation_url(metric),
        measured=measured(metric),
    )


def infos(metrics: tuple[str, ...]) -> list[MetricInfo]:
    return [info(m) for m in metrics]


def export_header(metric: str) -> str:
    """A wide CSV's column name: the metric, then its AU or that it is inferred.

    "smile (AU12)", "joy (inferred)", "attention": short, so a spreadsheet's columns stay
    readable; how each inferred metric is derived is in the aggregated CSV's `derivation` column
    and at /help/emotions#joy. An expression no model here measures says so,
    "lip_corner_depressor (AU15, not measured)", and its cells are empty. The metric name is
    everything before the first space.
    """
    expression = EXPRESSION_BY_NAME.get(metric)
    if expression is not None:
        return f"{metric} ({au_text(expression)}{'' if measured(metric) else ', not measured'})"
    return f"{metric} (inferred)" if metric in EMOTION_METRICS else metric
