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
from candor.ondevice import NOT_MEASURED_ON_DEVICE
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


# Why an expression of NOT_MEASURED_ON_DEVICE has no curve in an on-device study's results.
NOT_MEASURED_ON_DEVICE_WHY = (
    "not measured on device: it needs the server's appearance evidence on the face's pixels "
    "(what tells a smile from a sob, the nose root's creases), and in this study no video left "
    "the panelists' devices, so it has no curve rather than a flat zero"
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


def measured(metric: str, on_device: bool = False) -> bool:
    """False for an expression no model here measures (candor.metrics.NOT_MEASURED), and, in
    the results of a study analysed on the panelists' devices (``on_device``), for one that mode
    does not measure (candor.ondevice.NOT_MEASURED_ON_DEVICE)."""
    return metric not in NOT_MEASURED and not (on_device and metric in NOT_MEASURED_ON_DEVICE)


def why_not_measured(metric: str, on_device: bool = False) -> str | None:
    """Why a metric has no curve (see `measured`); None for one that is measured."""
    if metric in NOT_MEASURED:
        return NOT_MEASURED_WHY
    if on_device and metric in NOT_MEASURED_ON_DEVICE:
        return NOT_MEASURED_ON_DEVICE_WHY
    return None


def default_view(emotions: bool, on_device: bool = False) -> tuple[str, ...]:
    """The curves a page shows when none are asked for; never a metric that is not measured."""
    view = DEFAULT_EMOTION_VIEW if emotions else DEFAULT_VIEW
    return tuple(m for m in view if measured(m, on_device))


def drawable(
    asked: tuple[str, ...], on_device: bool = False
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The asked metrics split into those that can be drawn and those not measured."""
    return (
        tuple(m for m in asked if measured(m, on_device)),
        tuple(m for m in asked if not measured(m, on_device)),
    )


def not_measured_note(metrics: tuple[str, ...], on_device: bool = False) -> str | None:
    """What a page says when a URL asked for curves that are not measured; None if none were.
    One sentence per reason (no model here; not on device)."""
    if not metrics:
        return None
    sentences = []
    for why in dict.fromkeys(why_not_measured(m, on_device) for m in metrics):
        these = [m for m in metrics if why_not_measured(m, on_device) == why]
        names = ", ".join(full_label(m) for m in these)
        verb = "is" if len(these) == 1 else "are"
        sentences.append(f"{names} {verb} not measured and not drawn: {why}.")
    return " ".join(sentences)


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


def info(metric: str, on_device: bool = False) -> MetricInfo:
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
        measured=measured(metric, on_device),
        not_measured_why=why_not_measured(metric, on_device),
    )


def infos(metrics: tuple[str, ...], on_device: bool = False) -> list[MetricInfo]:
    """`info` of each metric; ``on_device`` for the results of a study analysed on the
    panelists' devices (its own metrics not measured)."""
    return [info(m, on_device) for m in metrics]


def export_header(metric: str, on_device: bool = False) -> str:
    """A wide CSV's column name: the metric, then its AU or that it is inferred.

    "smile (AU12)", "joy (inferred)", "attention": short, so a spreadsheet's columns stay
    readable; how each inferred metric is derived is in the aggregated CSV's `derivation` column
    and at /help/emotions#joy. An expression no model here measures says so,
    "lip_corner_depressor (AU15, not measured)", and its cells are empty. The metric name is
    everything before the first space.
    """
    expression = EXPRESSION_BY_NAME.get(metric)
    if expression is not None:
        if metric in NOT_MEASURED:
            return f"{metric} ({au_text(expression)}, not measured)"
        if not measured(metric, on_device):
            return f"{metric} ({au_text(expression)}, not measured on device)"
        return f"{metric} ({au_text(expression)})"
    return f"{metric} (inferred)" if metric in EMOTION_METRICS else metric
