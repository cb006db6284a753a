"""Is a difference real? Tests between groups of panelists, per second and over the whole ad,
corrected for the many tests made at once. Pure: values in, results out; no database, no web.

The unit is the panelist, never the frame: each group's sample at a second is one value per
panelist (that panelist's value of the metric at that second), and over the whole ad one value
per panelist (the mean of that panelist's seconds). The tests are the field's own: scipy's
Welch t (`ttest_ind(equal_var=False)`, with its confidence interval of the difference) or
Mann-Whitney U (`mannwhitneyu`); and when the two groups are the same panelists (each watched
both ads), their paired counterparts on each panelist's own two values: the paired t test
(`ttest_rel`, with its confidence interval of the mean difference) or Wilcoxon's signed-rank test
(`wilcoxon`). statsmodels' `multipletests` corrects the p-values over every test of one family
(all seconds times all pairs of one chart). docs/results.md explains it for readers.

scipy and statsmodels are imported on first use: statsmodels pulls in pandas, seconds of start
time a page that tests nothing should not pay.
"""

from __future__ import annotations

import enum
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any


class Kind(enum.StrEnum):
    """Which test compares two groups' values."""

    WELCH = "welch"  # Welch's t test of the means (unequal variances), with a CI of the difference
    MANN_WHITNEY = "mannwhitney"  # Mann-Whitney U: ranks, no assumption on the distribution
    # Paired: the same panelists in both groups, each compared with themselves.
    PAIRED_T = "paired"  # paired t test of the mean difference, with its CI
    WILCOXON = "wilcoxon"  # Wilcoxon signed-rank test of the differences: ranks, no CI


PAIRED_KINDS = frozenset({Kind.PAIRED_T, Kind.WILCOXON})
UNPAIRED_KINDS = frozenset({Kind.WELCH, Kind.MANN_WHITNEY})


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

    n_a: int  # paired: both are the number of panelists with a value in each group
    n_b: int
    mean_a: float
    mean_b: float
    # t (Welch, paired t), U (Mann-Whitney) or W (Wilcoxon); None if there is no spread
    statistic: float | None
    p: float
    # The difference mean_b - mean_a with its confidence interval at 1 - alpha (t tests only).
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


def paired_groups(
    a: Mapping[Any, float | None],
    b: Mapping[Any, float | None],
    kind: Kind = Kind.PAIRED_T,
    alpha: float = DEFAULT_ALPHA,
    min_n: int = MIN_TEST_N,
) -> TwoGroups | None:
    """Test b against a on the same panelists (keys): each panelist's b - a. Panelists with a
    value in one group only are left out; None if fewer than `min_n` have both.

    Every panelist moving by the same amount leaves no spread to test against: no move, p = 1;
    a move, p = 0 (as for two constant groups in `two_groups`).
    """
    from scipy import stats

    if kind not in PAIRED_KINDS:
        raise ValueError(f"{kind!r} is not a paired test")
    pairs = [
        (float(x), float(y))
        for key, x in a.items()
        if (y := b.get(key)) is not None and x is not None and math.isfinite(x)
        and math.isfinite(y)
    ]  # fmt: skip
    if len(pairs) < max(min_n, 2):
        return None
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    n = len(pairs)
    mean_a, mean_b = sum(xs) / n, sum(ys) / n
    differences = [y - x for x, y in pairs]
    # Equal up to rounding (b = a + 0.1 in floats differs in the last bits): no spread.
    if math.isclose(max(differences), min(differences), rel_tol=1e-9, abs_tol=1e-12):
        moved = sum(differences) / n
        still = math.isclose(moved, 0.0, abs_tol=1e-12)
        return TwoGroups(n, n, mean_a, mean_b, None, 1.0 if still else 0.0, moved, moved)
    low: float | None
    high: float | None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if kind == Kind.PAIRED_T:
            result: Any = stats.ttest_rel(ys, xs)
            interval = result.confidence_interval(1 - alpha)
            low, high = float(interval.low), float(interval.high)
        elif kind == Kind.WILCOXON:
            # Panelists with no difference are dropped (Wilcoxon's own rule, scipy's default).
            result = stats.wilcoxon(ys, xs, alternative="two-sided")
            low = high = None
        else:
            raise ValueError(f"unknown paired test {kind!r}")
    p = float(result.pvalue)
    statistic = float(result.statistic)
    return TwoGroups(
        n, n, mean_a, mean_b,
        statistic if math.isfinite(statistic) else None, p if math.isfinite(p) else 1.0,
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
# Per group, for paired tests: second -> panelist -> value.
PerSecondByPanelist = Mapping[int, Mapping[Any, float | None]]


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
    if kind not in UNPAIRED_KINDS:
        raise ValueError(f"{kind!r} is a paired test: use compare_paired")

    def test(a: Any, b: Any) -> TwoGroups | None:
        return two_groups(a, b, kind, alpha, min_n)

    return _compare(test, seconds, wholes, length, (), alpha, method, per_second, skip)


def compare_paired(
    seconds: Sequence[PerSecondByPanelist],
    wholes: Sequence[Mapping[Any, float]],
    length: int,
    *,
    kind: Kind = Kind.PAIRED_T,
    alpha: float = DEFAULT_ALPHA,
    method: Correction = Correction.BENJAMINI_HOCHBERG,
    min_n: int = MIN_TEST_N,
    per_second: bool = True,
) -> list[PairResult]:
    """As `compare_groups`, for groups of the same panelists: values keyed by panelist, each
    panelist's value in one group tested against their own in the other (`paired_groups`)."""
    if kind not in PAIRED_KINDS:
        raise ValueError(f"{kind!r} is not a paired test: use compare_groups")

    def test(a: Any, b: Any) -> TwoGroups | None:
        return paired_groups(a, b, kind, alpha, min_n)

    return _compare(test, seconds, wholes, length, {}, alpha, method, per_second, ())


def _compare(
    test: Callable[[Any, Any], TwoGroups | None],
    seconds: Sequence[Mapping[int, Any]],
    wholes: Sequence[Any],
    length: int,
    empty: Any,
    alpha: float,
    method: Correction,
    per_second: bool,
    skip: Sequence[set[int]],
) -> list[PairResult]:
    """Every pair of groups with `test`, the per-second tests one family, the whole-ad another."""
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
            raw.append(test(seconds[a].get(second, empty), seconds[b].get(second, empty)))
    by_second = correct(raw, alpha, method)
    whole = correct([test(wholes[a], wholes[b]) for a, b in pairs], alpha, method)
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
