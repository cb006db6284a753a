"""Is a difference real? Tests between groups of panelists, per second and over the whole ad,
corrected for the many tests made at once. Pure: values in, results out; no database, no web.

The unit is the panelist, never the frame: each group's sample at a second is one value per
panelist (that panelist's value of the metric at that second), and over the whole ad one value
per panelist (the mean of that panelist's seconds). The tests are the field's own: scipy's
Welch t (`ttest_ind(equal_var=False)`, with its confidence interval of the difference) or
Mann-Whitney U (`mannwhitneyu`), and statsmodels' `multipletests` corrects the p-values over
every test of one family (all seconds times all pairs of one chart). docs/results.md explains
it for readers.

scipy and statsmodels are imported on first use: statsmodels pulls in pandas, seconds of start
time a page that tests nothing should not pay.
"""

from __future__ import annotations

import enum
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any


class Kind(enum.StrEnum):
    """Which test compares two groups' values."""

    WELCH = "welch"  # Welch's t test of the means (unequal variances), with a CI of the difference
    MANN_WHITNEY = "mannwhitney"  # Mann-Whitney U: ranks, no assumption on the distribution


class Correction(enum.StrEnum):
    """How p-values are corrected for the many tests of one family (statsmodels' method names)."""

    BENJAMINI_HOCHBERG = "fdr_bh"  # false discovery rate: of the seconds flagged, few are wrong
    # Family-wise error, the chance of any wrong flag, stepwise (more power than Bonferroni).
    # Holm-Sidak rather than plain Holm: statsmodels' "holm" runs a full gc.collect() per call
    # (0.4 s in a loaded web process), its Holm-Sidak does not and is as strict or less.
    HOLM_SIDAK = "holm-sidak"
    BONFERRONI = "bonferroni"  # family-wise error, each p times the number of tests


DEFAULT_ALPHA = 0.05
ALPHA_RANGE = (0.001, 0.2)
# Fewer panelists than this in either group and a second (or the whole ad) is not tested: the
# test would say next to nothing, and Mann-Whitney could not reach significance at all.
MIN_TEST_N = 5


@dataclass(frozen=True)
class TwoGroups:
    """One test of group a against group b, before the correction."""

    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    statistic: float | None  # t (Welch) or U (Mann-Whitney); None if both groups are constant
    p: float
    # The difference mean_b - mean_a with its confidence interval at 1 - alpha (Welch only).
    ci_low: float | None
    ci_high: float | None

    @property
    def difference(self) -> float:
        return self.mean_b - self.mean_a


@dataclass(frozen=True)
class Tested:
    """A test with its corrected p-value and whether the difference holds."""

    test: TwoGroups
    p_adjusted: float
    significant: bool


def _clean(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def two_groups(
    a: Sequence[float | None],
    b: Sequence[float | None],
    kind: Kind = Kind.WELCH,
    alpha: float = DEFAULT_ALPHA,
    min_n: int = MIN_TEST_N,
) -> TwoGroups | None:
    """Test b against a (one value per panelist each); None if either has fewer than `min_n`.

    Two constant groups have no spread to test against: equal, p = 1; different, p = 0 (every
    panelist of one is above every panelist of the other, the limit of either test).
    """
    from scipy import stats

    xs, ys = _clean(a), _clean(b)
    if min(len(xs), len(ys)) < max(min_n, 2):
        return None
    mean_a, mean_b = sum(xs) / len(xs), sum(ys) / len(ys)
    if max(xs) == min(xs) and max(ys) == min(ys):
        same = mean_a == mean_b
        return TwoGroups(
            len(xs), len(ys), mean_a, mean_b, None, 1.0 if same else 0.0,
            mean_b - mean_a, mean_b - mean_a,
        )  # fmt: skip
    low: float | None
    high: float | None
    with warnings.catch_warnings():
        # scipy warns about precision when values are nearly identical; the result stands.
        warnings.simplefilter("ignore", RuntimeWarning)
        if kind == Kind.WELCH:
            result: Any = stats.ttest_ind(ys, xs, equal_var=False)
            interval = result.confidence_interval(1 - alpha)
            low, high = float(interval.low), float(interval.high)
        elif kind == Kind.MANN_WHITNEY:
            result = stats.mannwhitneyu(ys, xs, alternative="two-sided")
            low = high = None
        else:
            raise ValueError(f"unknown test {kind!r}")
    p = float(result.pvalue)
    if not math.isfinite(p):
        # Left by a degenerate sample scipy cannot test (e.g. every value tied): no evidence.
        p = 1.0
    statistic = float(result.statistic)
    return TwoGroups(
        len(xs), len(ys), mean_a, mean_b,
        statistic if math.isfinite(statistic) else None, p,
        low if low is not None and math.isfinite(low) else None,
        high if high is not None and math.isfinite(high) else None,
    )  # fmt: skip


def correct(
    tests: Sequence[TwoGroups | None],
    alpha: float = DEFAULT_ALPHA,
    method: Correction = Correction.BENJAMINI_HOCHBERG,
) -> list[Tested | None]:
    """Correct one family's p-values together (statsmodels' multipletests); None stays None and
    is not counted as a test."""
    from statsmodels.stats.multitest import multipletests

    check_alpha(alpha)
    done = [t for t in tests if t is not None]
    if not done:
        return [None] * len(tests)
    reject, adjusted, _, _ = multipletests([t.p for t in done], alpha=alpha, method=str(method))
    out: list[Tested | None] = []
    results = iter(zip(done, reject, adjusted, strict=True))
    for t in tests:
        if t is None:
            out.append(None)
        else:
            test, holds, p_adjusted = next(results)
            out.append(Tested(test, float(p_adjusted), bool(holds)))
    return out


def check_alpha(alpha: float) -> None:
    low, high = ALPHA_RANGE
    if not low <= alpha <= high:
        raise ValueError(f"alpha must be within [{low}, {high}], not {alpha}")


# Per group: second -> one value per panelist.
PerSecond = Mapping[int, Sequence[float | None]]


@dataclass(frozen=True)
class PairResult:
    """Two groups (indices into the groups given) compared per second and over the whole ad."""

    a: int
    b: int
    seconds: list[Tested | None]  # one per second of the axis; None where not tested
    whole: Tested | None


def panelist_means(per_panelist: Sequence[Sequence[float | None]]) -> list[float]:
    """Each panelist's mean over the seconds they have a value at (none: left out)."""
    means = []
    for values in per_panelist:
        present = _clean(values)
        if present:
            means.append(sum(present) / len(present))
    return means


def compare_groups(
    seconds: Sequence[PerSecond],
    wholes: Sequence[Sequence[float]],
    length: int,
    *,
    kind: Kind = Kind.WELCH,
    alpha: float = DEFAULT_ALPHA,
    method: Correction = Correction.BENJAMINI_HOCHBERG,
    min_n: int = MIN_TEST_N,
    per_second: bool = True,
    skip: Sequence[set[int]] = (),
) -> list[PairResult]:
    """Every pair of groups, per second (if `per_second`) and over the whole ad.

    `seconds[g]` holds group g's per-panelist values per second, `wholes[g]` each panelist's
    mean over the ad; `skip[g]` are seconds not to test for group g (cells not shown). The
    per-second tests of all pairs are one family, corrected together; the whole-ad tests of all
    pairs are another.
    """
    if len(seconds) != len(wholes):
        raise ValueError("one per-second and one whole-ad sample per group")
    check_alpha(alpha)
    pairs = list(combinations(range(len(seconds)), 2))
    skipped = list(skip) or [set() for _ in seconds]
    raw: list[TwoGroups | None] = []
    for a, b in pairs:
        for second in range(length if per_second else 0):
            if second in skipped[a] or second in skipped[b]:
                raw.append(None)
                continue
            raw.append(
                two_groups(
                    seconds[a].get(second, ()), seconds[b].get(second, ()), kind, alpha, min_n
                )
            )
    by_second = correct(raw, alpha, method)
    whole = correct([two_groups(wholes[a], wholes[b], kind, alpha, min_n) for a, b in pairs],
                    alpha, method)  # fmt: skip
    out = []
    step = length if per_second else 0
    for i, (a, b) in enumerate(pairs):
        out.append(PairResult(a, b, by_second[i * step : (i + 1) * step], whole[i]))
    return out


def runs(seconds: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive seconds as (first, last) runs: [3, 4, 5, 9] -> [(3, 5), (9, 9)]."""
    out: list[tuple[int, int]] = []
    for s in sorted(seconds):
        if out and s == out[-1][1] + 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out
