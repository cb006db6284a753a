"""Results read from the maintained aggregates: curves (with cell-size suppression applied
here, so no route or export can skip it), summaries, key moments, norms and comparisons."""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.metrics import EMOTIONS, EXPRESSION_NAMES, NOT_MEASURED
from web.clips.models import AdAggregate
from web.errors import Invalid
from web.results import catalogue, maths
from web.results.maths import METRIC_BOUNDS, Cell
from web.results.moments import (
    KEY_MOMENT_MIN_ATTENTION,
    KEY_MOMENT_MIN_LIFT,
    KEY_MOMENT_MIN_SEPARATION_S,
    key_moments,
)
from web.results.schemas import (
    AdCurves,
    AdSummaryOut,
    EmotionPeakOut,
    EmotionSummaryOut,
    KeyMomentOut,
    KeyMoments,
    MetricCurve,
    SegmentCurves,
)
from web.results.suppression import hidden_cells
from web.settings import Settings
from web.studies.models import Ad, Study

# ad id -> segment value -> metric -> second -> (n, sum, sumsq)
SegmentCells = dict[str, dict[str, dict[int, Cell]]]


def check_metrics(asked: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
    """The asked metrics, deduplicated in order, refused if one is not allowed here."""
    unknown = [m for m in asked if m not in allowed]
    if unknown:
        raise Invalid(
            f"unknown metric(s) {', '.join(map(repr, unknown))} for this ad; "
            f"one of: {', '.join(allowed)}",
            code="unknown_metric",
        )
    return tuple(dict.fromkeys(asked))


emotion_studies = catalogue.emotion_studies


def min_cell_size(study: Study, settings: Settings) -> int:
    """The stricter of the study's own minimum and the installation's."""
    return max(study.min_cell_size, settings.min_cell_size)


def read_cells(
    session: Session, ad_ids: Iterable[int], segment_var: str = "", metrics: Sequence[str] = ()
) -> dict[int, SegmentCells]:
    """Aggregate cells of the ads for one segment variable ("" = everyone), in one query.

    Never a metric that is not measured (candor.metrics.NOT_MEASURED): cells of one that an
    older analysis still filled are flat zeros, not readings, and no reader may see them.
    """
    ids = list(ad_ids)
    out: dict[int, SegmentCells] = {ad_id: {} for ad_id in ids}
    if not ids:
        return out
    table = AdAggregate.__table__
    query = select(
        table.c.ad_id,
        table.c.segment_value,
        table.c.metric,
        table.c.second,
        table.c.n,
        table.c.sum,
        table.c.sumsq,
    ).where(
        table.c.ad_id.in_(ids),
        table.c.segment_var == segment_var,
        table.c.n > 0,
        table.c.metric.not_in(sorted(NOT_MEASURED)),
    )
    if metrics:
        query = query.where(table.c.metric.in_(metrics))
    for ad_id, value, metric, second, n, total, total_sq in session.execute(query):
        out[ad_id].setdefault(value, {}).setdefault(metric, {})[second] = (n, total, total_sq)
    return out


def segment_variables(session: Session, ad_id: int) -> list[str]:
    """Pass-through variables carried by at least one panelist of the ad."""
    query = (
        select(AdAggregate.segment_var)
        .distinct()
        .where(AdAggregate.ad_id == ad_id, AdAggregate.segment_var != "", AdAggregate.n > 0)
        .order_by(AdAggregate.segment_var)
    )
    return list(session.scalars(query))


def _panelists(cells: dict[str, dict[int, Cell]]) -> int:
    return max((cell[0] for cell in cells.get("attention", {}).values()), default=0)


def metric_curve(
    metric: str,
    per_second: dict[int, Cell],
    length: int,
    masked: set[int] | None = None,
    on_device: bool = False,
) -> MetricCurve:
    """n, mean and 95% CI per second of one metric; None where empty or suppressed, and
    everywhere for a metric that is not measured (marked `measured=False`; ``on_device``: in
    the results of a study analysed on the panelists' devices)."""
    if not catalogue.measured(metric, on_device):
        nothing: list[float | None] = [None] * length
        return MetricCurve.model_construct(
            metric=metric,
            n=[None] * length,
            mean=nothing,
            ci_low=list(nothing),
            ci_high=list(nothing),
            measured=False,
        )
    bounds = METRIC_BOUNDS.get(metric, (None, None))
    ns: list[int | None] = []
    means: list[float | None] = []
    lows: list[float | None] = []
    highs: list[float | None] = []
    for second in range(length):
        cell = per_second.get(second)
        if masked and second in masked:
            # Suppressed: not even n is shown, it would tell how small the group is.
            ns.append(None)
            stats = _EMPTY
        else:
            stats = maths.cell_stats(cell[0], cell[1], cell[2], bounds) if cell else _EMPTY
            ns.append(stats.n)
        means.append(stats.mean)
        lows.append(stats.ci_low)
        highs.append(stats.ci_high)
    # Built from values computed here, so pydantic's per-item validation (tens of thousands of
    # floats on a page with every metric and segment) is skipped.
    return MetricCurve.model_construct(
        metric=metric, n=ns, mean=means, ci_low=lows, ci_high=highs, measured=True
    )


_EMPTY = maths.CellStats(0, None, None, None, None)


def _group(
    var: str,
    value: str,
    cells: dict[str, dict[int, Cell]],
    length: int,
    metrics: Sequence[str],
    masks: dict[str, set[int]] | None = None,
    on_device: bool = False,
) -> SegmentCurves:
    masks = masks or {}
    return SegmentCurves(
        segment_var=var,
        segment_value=value,
        n=_panelists(cells),
        curves={
            m: metric_curve(m, cells.get(m, {}), length, masks.get(m), on_device) for m in metrics
        },
    )


def _suppression_masks(
    everyone: dict[str, dict[int, Cell]], shown: dict[str, dict[str, dict[int, Cell]]],
    length: int, k: int, metrics: Sequence[str],
) -> dict[str, dict[str, set[int]]]:  # fmt: skip
    """Per shown segment, the (metric, second) cells that fail the cell-size rule there."""
    masks: dict[str, dict[str, set[int]]] = {value: defaultdict(set) for value in shown}
    for metric in metrics:
        for second in range(length):
            total = everyone.get(metric, {}).get(second, _NO_CELL)[0]
            ns = {v: cells.get(metric, {}).get(second, _NO_CELL)[0] for v, cells in shown.items()}
            for value in hidden_cells(total, ns, k):
                masks[value][metric].add(second)
    return masks


_NO_CELL: Cell = (0, 0.0, 0.0)


def ad_curves(
    session: Session, ad: Ad, study: Study, settings: Settings, segment_var: str | None = None
) -> AdCurves:
    """The ad's curves for everyone and, if asked, per value of a pass-through variable.

    Segments below the minimum cell size are left out, and so are the smallest others when
    needed to stop a hidden one being worked out by subtraction (see suppression.hidden_cells);
    the same rule is applied again at every metric and second, blanking cells that fail it.
    """
    k = min_cell_size(study, settings)
    metrics = catalogue.stored_metrics(catalogue.shows_emotions(session, study))
    everyone = read_cells(session, [ad.id], metrics=metrics)[ad.id].get("", {})
    variables = segment_variables(session, ad.id)
    by_value: SegmentCells = {}
    if segment_var:
        if segment_var not in variables:
            known = ", ".join(variables) or "none"
            raise Invalid(
                f"no panelist of this ad carries {segment_var!r}; variables: {known}",
                code="unknown_segment_variable",
            )
        by_value = read_cells(session, [ad.id], segment_var, metrics)[ad.id]
    length = max(
        maths.curve_length(cells, ad.duration_s) for cells in [everyone, *by_value.values()]
    )
    result = AdCurves(
        ad_id=ad.id,
        study_id=study.id,
        title=ad.title,
        duration_s=ad.duration_s,
        seconds=list(range(length)),
        overall=_group("", "", everyone, length, metrics, on_device=study.on_device),
        min_cell_size=k,
        segment_variables=variables,
        metrics=catalogue.infos(metrics, study.on_device),
    )
    if not segment_var:
        return result

    sizes = {value: _panelists(cells) for value, cells in by_value.items()}
    hidden = hidden_cells(result.overall.n, sizes, k)
    shown = {v: by_value[v] for v in sorted(by_value) if v not in hidden}
    masks = _suppression_masks(everyone, shown, length, k, metrics)
    result.segment_var = segment_var
    result.segments = [
        _group(segment_var, value, cells, length, metrics, masks[value], study.on_device)
        for value, cells in shown.items()
    ]
    result.hidden_segments = len(hidden)
    if hidden:
        result.note = (
            f"{len(hidden)} group(s) of {segment_var!r} not shown: fewer than {k} panelists, "
            "or needed to keep such a group from being worked out by subtraction."
        )
    return result


def _emotion_summary_out(summary: maths.EmotionSummary) -> EmotionSummaryOut:
    figures = asdict(summary)
    figures["peaks"] = [
        EmotionPeakOut(
            metric=metric, second=second, value=value, derivation=catalogue.EMOTION_DOCS_PATH
            + f"#{metric}",
        )
        for metric, second, value in summary.peaks
    ]  # fmt: skip
    return EmotionSummaryOut(**figures, derivation=catalogue.EMOTION_DOCS_PATH)


def summary_out(
    ad: Ad,
    cells: dict[str, dict[int, Cell]],
    emotions: bool,
    summary: maths.Summary | None = None,
) -> AdSummaryOut:
    """One ad's summary; emotion figures only if its study shows emotions. ``summary``: the
    figures already computed from ``cells`` (the cache's)."""
    if summary is None:
        summary = maths.summarise(cells, emotions)
    figures = asdict(summary)
    figures.pop("emotions")
    return AdSummaryOut(
        ad_id=ad.id,
        study_id=ad.study_id,
        title=ad.title,
        duration_s=ad.duration_s,
        emotions=_emotion_summary_out(summary.emotions) if summary.emotions else None,
        **figures,
    )


class SummaryCache:
    """Each ad's summary figures under (ad id, aggregate version, emotions), so the
    organisation norm over many ads reads only the aggregates of ads that changed since.

    The version (Ad.aggregate_version) is a fresh random token each time apply_clip changes the
    ad's aggregates, read in the reader's own transaction: a figure is never served for other
    aggregates than it was computed from, in any web process. Version 0 (never changed by the
    pipeline: no clip counted, or cells written by hand) is not cached. Bounded: the oldest
    entries go first."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[int, int, bool], maths.Summary] = OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0  # figures computed (misses), for tests and the bench

    def get(self, key: tuple[int, int, bool]) -> maths.Summary | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[int, int, bool], summary: maths.Summary) -> None:
        if key[1] == 0:
            return
        with self._lock:
            self._entries[key] = summary
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


SUMMARY_CACHE = SummaryCache()


def summaries(session: Session, ads: Sequence[Ad]) -> list[AdSummaryOut]:
    """Each ad's summary from its whole-sample aggregate: cached figures for ads whose
    aggregates did not change (SummaryCache), the others' cells in one query."""
    if not ads:
        return []
    with_emotions = emotion_studies(session, {ad.study_id for ad in ads})
    ids = [ad.id for ad in ads]
    # Read now, not from the ads' loaded state: apply_clip may have changed it since.
    versions: dict[int, int] = {
        ad_id: version
        for ad_id, version in session.execute(
            select(Ad.id, Ad.aggregate_version).where(Ad.id.in_(ids))
        )
    }
    keys = {ad.id: (ad.id, versions.get(ad.id, 0), ad.study_id in with_emotions) for ad in ads}
    figures = {ad_id: SUMMARY_CACHE.get(key) for ad_id, key in keys.items() if key[1]}
    missing = [ad_id for ad_id in ids if figures.get(ad_id) is None]
    cells = read_cells(session, missing)
    for ad_id in missing:
        key = keys[ad_id]
        figures[ad_id] = maths.summarise(cells[ad_id].get("", {}), key[2])
        SUMMARY_CACHE.computed += 1
        SUMMARY_CACHE.put(key, figures[ad_id])  # type: ignore[arg-type]
    return [summary_out(ad, {}, keys[ad.id][2], figures[ad.id]) for ad in ads]


def moment_metrics(curves: AdCurves) -> tuple[str, ...]:
    """Where key moments are looked for by default: every measured expression, and every emotion
    (not valence or engagement, which are not reactions of their own) for an emotion-mode study."""
    shown = {m.name for m in curves.metrics if m.measured}
    return tuple(m for m in (*EXPRESSION_NAMES, *EMOTIONS) if m in shown)


def moments_for(curves: AdCurves, metrics: Sequence[str] = ()) -> KeyMoments:
    """Key moments of the whole sample's mean curves, among `metrics` (default: see above)."""
    means = {m: c.mean for m, c in curves.overall.curves.items()}
    about = {m.name: m for m in curves.metrics}
    unmeasured = [m for m in metrics if m in about and not about[m].measured]
    if unmeasured:
        raise Invalid(
            f"{', '.join(map(repr, unmeasured))} not measured: "
            f"{about[unmeasured[0]].not_measured_why}",
            code="not_measured",
        )
    allowed = [m for m in means if m != "attention"]
    chosen = check_metrics(metrics, allowed) if metrics else moment_metrics(curves)
    found = key_moments(means["attention"], {m: means[m] for m in chosen})
    return KeyMoments(
        ad_id=curves.ad_id,
        metrics=list(chosen),
        min_attention=KEY_MOMENT_MIN_ATTENTION,
        min_lift=KEY_MOMENT_MIN_LIFT,
        min_separation_s=KEY_MOMENT_MIN_SEPARATION_S,
        moments=[KeyMomentOut(rank=i + 1, **asdict(m)) for i, m in enumerate(found)],
    )
