"""Pure statistics behind the results pages: means and 95% CIs from running sums, summaries,
norms, time-normalisation. No database, no web; every function is checked by hand in tests."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from candor.metrics import (
    CURVE_METRICS,
    EMOTION_METRICS,
    EMOTIONS,
    EXPRESSION_NAMES,
    METRIC_RANGE,
    NOT_MEASURED,
)

# One aggregate cell: (n, sum, sum of squares), as AdAggregate stores it.
Cell = tuple[int, float, float]
# Per metric, per second: the cells of one ad (or one segment of it).
MetricCells = Mapping[str, Mapping[int, Cell]]

# Where each metric's values can lie: a CI is clipped to these (shares and 0..1 intensities,
# valence -1..1; blink counts are never negative and have no upper bound).
Bounds = tuple[float | None, float | None]
METRIC_BOUNDS: dict[str, Bounds] = {
    **{m: METRIC_RANGE.get(m, (0.0, 1.0)) for m in (*CURVE_METRICS, *EMOTION_METRICS)},
    "blinks": (0.0, None),
}
# How many emotion peaks an ad's summary lists.
EMOTION_PEAKS = 3
# A highest mean below this is no peak (an emotion that never rose reads "no peak", not
# "Anger 0.00 at 6 s"): the analysis's 5% dead zone, under which a face is still.
PEAK_MIN = 0.05

# Two-sided 95% critical values of Student's t for df = 1..30 (scipy.stats.t.ppf(0.975, df),
# rounded to 4 decimals). Beyond 30 the Cornish-Fisher expansion below is exact to < 1e-7.
_T975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
)  # fmt: skip
_Z975 = 1.959963984540054


# Cached: a page computes it for every metric, second and group (tens of thousands of cells
# with the full metric set), always for the same few values of n.
@functools.lru_cache(maxsize=4096)
def t_critical_95(df: int) -> float:
    """Two-sided 95% critical value of Student's t with df degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, not {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    # Cornish-Fisher expansion of the t quantile around the normal one (Abramowitz & Stegun
    # 26.7.5), four terms: the error is below 1e-7 for df > 30.
    z, v = _Z975, float(df)
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4)
    )


@dataclass(frozen=True)
class CellStats:
    """Mean, sample SD and 95% CI of one cell; None where n is too small to say."""

    n: int
    mean: float | None
    sd: float | None
    ci_low: float | None
    ci_high: float | None


def cell_stats(n: int, total: float, total_sq: float, bounds: Bounds = (None, None)) -> CellStats:
    """Mean and t-based 95% CI from n, sum and sum of squares (CI needs n >= 2).

    The interval is clipped to the metric's bounds: a share cannot leave [0, 1], and the
    clipped interval still holds the true mean as often as the unclipped one.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, not {n}")
    if n == 0:
        return CellStats(0, None, None, None, None)
    mean = total / n
    if n == 1:
        return CellStats(1, mean, None, None, None)
    # Running sums that were added and subtracted can leave a tiny negative variance.
    variance = max((total_sq - total * total / n) / (n - 1), 0.0)
    sd = math.sqrt(variance)
    half = t_critical_95(n - 1) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    if bounds[0] is not None:
        low = max(low, bounds[0])
    if bounds[1] is not None:
        high = min(high, bounds[1])
    return CellStats(n, mean, sd, low, high)


def pooled_mean(cells: Mapping[int, Cell]) -> float | None:
    """Mean over every panelist-second of a metric: sum of sums over sum of n."""
    n = sum(cell[0] for cell in cells.values())
    return sum(cell[1] for cell in cells.values()) / n if n > 0 else None


def curve_length(cells: MetricCells, duration_s: float) -> int:
    """Seconds on the axis: the ad's whole seconds, or more if curves run past them."""
    last = max((s for per_second in cells.values() for s in per_second), default=-1)
    return max(math.ceil(duration_s), last + 1, 0)


def mean_curve(per_second: Mapping[int, Cell], length: int) -> list[float | None]:
    """Mean per second, None where no panelist contributes."""
    out: list[float | None] = []
    for second in range(length):
        cell = per_second.get(second)
        out.append(cell[1] / cell[0] if cell and cell[0] > 0 else None)
    return out


@dataclass(frozen=True)
class EmotionSummary:
    """Emotion-mode figures of one ad: engagement, valence and its extremes, emotion peaks."""

    engagement: float | None
    valence: float | None
    valence_low_s: int | None
    valence_low: float | None
    valence_high_s: int | None
    valence_high: float | None
    peaks: tuple[tuple[str, int, float], ...]  # (emotion, second, mean), strongest first


@dataclass(frozen=True)
class Summary:
    """Headline figures of one ad (definitions in docs/results.md)."""

    n: int
    attention_share: float | None
    expressiveness: float | None
    smile_peak_s: int | None
    smile_peak: float | None
    blink_rate_per_min: float | None
    emotions: EmotionSummary | None = None


SUMMARY_FIELDS = (
    "attention_share",
    "expressiveness",
    "smile_peak",
    "smile_peak_s",
    "blink_rate_per_min",
    "n",
)
# Norms of emotion-mode ads (read from Summary.emotions).
EMOTION_SUMMARY_FIELDS = ("engagement", "valence")


def _means(per_second: Mapping[int, Cell]) -> dict[int, float]:
    return {s: c[1] / c[0] for s, c in per_second.items() if c[0] > 0}


def _highest(means: Mapping[int, float]) -> int | None:
    """The second of the highest mean; the earliest wins a tie, so figures are stable."""
    return min(means, key=lambda s: (-means[s], s)) if means else None


def _lowest(means: Mapping[int, float]) -> int | None:
    return min(means, key=lambda s: (means[s], s)) if means else None


def summarise_emotions(cells: MetricCells) -> EmotionSummary:
    """Engagement and valence (pooled means), valence's lowest and highest second, and the
    EMOTION_PEAKS emotions whose highest per-second mean is highest (and at least PEAK_MIN),
    with that second."""
    valence = _means(cells.get("valence", {}))
    low_s, high_s = _lowest(valence), _highest(valence)
    peaks = []
    for emotion in EMOTIONS:
        means = _means(cells.get(emotion, {}))
        second = _highest(means)
        if second is not None and means[second] >= PEAK_MIN:
            peaks.append((emotion, second, means[second]))
    peaks.sort(key=lambda p: (-p[2], p[1], p[0]))
    return EmotionSummary(
        engagement=pooled_mean(cells.get("engagement", {})),
        valence=pooled_mean(cells.get("valence", {})),
        valence_low_s=low_s,
        valence_low=valence[low_s] if low_s is not None else None,
        valence_high_s=high_s,
        valence_high=valence[high_s] if high_s is not None else None,
        peaks=tuple(peaks[:EMOTION_PEAKS]),
    )


def summarise(cells: MetricCells, emotions: bool = False) -> Summary:
    """Summary of one ad from its aggregate cells.

    - n: panelists, the most that contribute attention at any second.
    - attention_share: attentive frames' share over every panelist-second.
    - expressiveness: the mean of the measured expressions' pooled means, each over attentive
      panelist-seconds (0..1; how much the face moves while watching, whatever the expression);
      one no model here measures (NOT_MEASURED) is left out, whatever cells it has.
    - smile peak: the second with the highest mean smile, and that mean.
    - blink rate: mean blinks per panelist-second, times 60.
    - emotions (only if `emotions`): see summarise_emotions.
    """
    attention = cells.get("attention", {})
    n = max((cell[0] for cell in attention.values()), default=0)
    expression_means = [
        m
        for e in EXPRESSION_NAMES
        if e not in NOT_MEASURED and (m := pooled_mean(cells.get(e, {}))) is not None
    ]
    expressiveness = sum(expression_means) / len(expression_means) if expression_means else None
    smile = _means(cells.get("smile", {}))
    peak_s = _highest(smile)
    blinks = pooled_mean(cells.get("blinks", {}))
    return Summary(
        n=n,
        attention_share=pooled_mean(attention),
        expressiveness=expressiveness,
        smile_peak_s=peak_s,
        smile_peak=smile[peak_s] if peak_s is not None else None,
        blink_rate_per_min=blinks * 60 if blinks is not None else None,
        emotions=summarise_emotions(cells) if emotions else None,
    )


@dataclass(frozen=True)
class Quartiles:
    """Lower quartile, median and upper quartile of n values."""

    n: int
    q1: float
    median: float
    q3: float


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Quantile by linear interpolation between order statistics (numpy's default, R type 7)."""
    if not sorted_values:
        raise ValueError("quantile of no values")
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be within [0, 1], not {q}")
    position = q * (len(sorted_values) - 1)
    below = math.floor(position)
    above = min(below + 1, len(sorted_values) - 1)
    fraction = position - below
    return sorted_values[below] + (sorted_values[above] - sorted_values[below]) * fraction


def quartiles(values: Sequence[float | None]) -> Quartiles | None:
    """Quartiles of the values that are not None; None if there are none."""
    present = sorted(v for v in values if v is not None)
    if not present:
        return None
    return Quartiles(
        len(present), quantile(present, 0.25), quantile(present, 0.5), quantile(present, 0.75)
    )


def summary_norms(
    summaries: Sequence[Summary], emotions: bool = False
) -> dict[str, Quartiles | None]:
    """An organisation's norms: quartiles of each summary figure over its ads, and of the
    emotion figures over its emotion-mode ads if `emotions`."""
    norms = {
        name: quartiles(
            [float(v) if (v := getattr(s, name)) is not None else None for s in summaries]
        )
        for name in SUMMARY_FIELDS
    }
    if emotions:
        for name in EMOTION_SUMMARY_FIELDS:
            norms[name] = quartiles(
                [getattr(s.emotions, name) if s.emotions else None for s in summaries]
            )
    return norms


NORMALISED_POINTS = 100


def normalised_positions(points: int = NORMALISED_POINTS) -> list[float]:
    """Centres of `points` equal slices of an ad, as fractions of its length."""
    if points < 1:
        raise ValueError(f"points must be >= 1, not {points}")
    return [(i + 0.5) / points for i in range(points)]


def second_positions(length: int) -> list[float]:
    """Centres of an ad's whole seconds, as fractions of its length."""
    return [(s + 0.5) / length for s in range(length)] if length > 0 else []


def resample(values: Sequence[float | None], positions: Sequence[float]) -> list[float | None]:
    """A per-second curve read at fractions of the ad's length, by linear interpolation.

    Second s is taken to sit at its centre, (s + 0.5) / len of the way through the ad, so ads of
    different lengths line up by progress. Where a neighbour is missing, the nearer one is used.
    """
    length = len(values)
    out: list[float | None] = []
    for position in positions:
        if not 0 <= position <= 1:
            raise ValueError(f"positions are fractions within [0, 1], not {position}")
        if length == 0:
            out.append(None)
            continue
        x = min(max(position * length - 0.5, 0.0), length - 1.0)
        below = math.floor(x)
        above = min(below + 1, length - 1)
        fraction = x - below
        low, high = values[below], values[above]
        if low is not None and high is not None:
            out.append(low + (high - low) * fraction)
        else:
            out.append(low if fraction < 0.5 else high)
    return out


def band(curves: Sequence[Sequence[float | None]]) -> list[Quartiles | None]:
    """Pointwise quartiles across equally long curves: the norms band."""
    if not curves:
        return []
    length = len(curves[0])
    if any(len(c) != length for c in curves):
        raise ValueError("curves must be resampled to the same positions first")
    return [quartiles([c[i] for c in curves]) for i in range(length)]
