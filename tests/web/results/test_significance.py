"""Is the difference real? The tests and the correction on samples whose answer is known.

Panelists are drawn from normal distributions with a fixed seed: two ads alike everywhere but
seconds 3-6 (where one is higher by 0.25, about three standard deviations), or alike
everywhere. The expected rates follow from the methods: Benjamini-Hochberg keeps the expected
share of wrong flags among flags at most alpha, and under no difference at all it flags any
second in at most alpha of the samples (it is then the family-wise rate).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from web.results import significance
from web.results.significance import Correction, Kind, compare_groups, runs, two_groups

SECONDS = 10
REAL = {3, 4, 5, 6}
PANELISTS = 30


def sample(
    rng: np.random.Generator, lift: float, n: int = PANELISTS
) -> tuple[dict[int, list[float]], list[float]]:
    """One ad's smile per panelist and second (mean 0.2, sd 0.08), `lift` higher at 3-6 s."""
    values = rng.normal(0.2, 0.08, size=(n, SECONDS))
    for s in REAL:
        values[:, s] += lift
    values = np.clip(values, 0.0, 1.0)
    per_second = {s: list(values[:, s]) for s in range(SECONDS)}
    return per_second, list(values.mean(axis=1))


def flagged(
    seed: int, lift: float, kind: Kind = Kind.WELCH,
    method: Correction = Correction.BENJAMINI_HOCHBERG,
) -> set[int]:  # fmt: skip
    rng = np.random.default_rng(seed)
    a, whole_a = sample(rng, 0.0)
    b, whole_b = sample(rng, lift)
    (pair,) = compare_groups([a, b], [whole_a, whole_b], SECONDS, kind=kind, method=method)
    return {s for s, t in enumerate(pair.seconds) if t and t.significant}


@pytest.mark.parametrize("kind", sorted(significance.UNPAIRED_KINDS))
def test_a_real_difference_at_3_to_6_s_is_found_there_and_only_there(kind: Kind) -> None:
    seeds = range(100)
    results = [flagged(seed, 0.25, kind) for seed in seeds]
    # Three standard deviations with 30 panelists a side: every sample finds every real second.
    assert all(found >= REAL for found in results)
    # Wrong flags: Benjamini-Hochberg keeps their expected share among flags <= alpha * 6/10.
    wrong = [len(found - REAL) / len(found) for found in results]
    assert sum(wrong) / len(wrong) <= 0.05
    # Most samples flag exactly 3-6 s.
    assert sum(found == REAL for found in results) >= 85


@pytest.mark.parametrize("method", list(Correction))
def test_alike_ads_rarely_flag_any_second_with_the_correction(method: Correction) -> None:
    seeds = range(200)
    any_flag = sum(bool(flagged(seed, 0.0, method=method)) for seed in seeds)
    # Under no difference each correction flags something in at most alpha of the samples
    # (5% of 200 = 10); 18 is above the binomial's 99.9th percentile for 10 expected.
    assert any_flag <= 18
    # Uncorrected, ten tests at 5% would flag something in ~40% of samples (1 - 0.95^10): the
    # correction is what keeps it down.
    raw = 0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        a, _ = sample(rng, 0.0)
        b, _ = sample(rng, 0.0)
        raw += any(stats.ttest_ind(b[s], a[s], equal_var=False).pvalue < 0.05 for s in a)
    assert raw >= 50


def test_identical_ads_flag_nothing() -> None:
    rng = np.random.default_rng(7)
    a, whole = sample(rng, 0.25)
    (pair,) = compare_groups([a, a], [whole, whole], SECONDS)
    assert not any(t and t.significant for t in pair.seconds)
    assert all(t is not None and t.test.p == pytest.approx(1.0) for t in pair.seconds)
    assert pair.whole is not None and not pair.whole.significant


def test_welch_agrees_with_scipy_and_reports_the_interval_of_b_minus_a() -> None:
    a = [0.1, 0.2, 0.15, 0.3, 0.25, 0.2]
    b = [0.4, 0.35, 0.5, 0.45, 0.3, 0.6, 0.55]
    t = two_groups(a, b, Kind.WELCH)
    assert t is not None
    expected = stats.ttest_ind(b, a, equal_var=False)
    assert t.p == pytest.approx(expected.pvalue)
    assert t.statistic == pytest.approx(expected.statistic)
    assert t.difference == pytest.approx(np.mean(b) - np.mean(a))
    interval = expected.confidence_interval(0.95)
    assert (t.ci_low, t.ci_high) == (pytest.approx(interval.low), pytest.approx(interval.high))
    assert t.ci_low is not None and 0 < t.ci_low < t.difference < t.ci_high  # type: ignore[operator]


def test_mann_whitney_agrees_with_scipy_and_has_no_interval() -> None:
    a = [0.1, 0.2, 0.15, 0.3, 0.25]
    b = [0.4, 0.35, 0.5, 0.45, 0.3, 0.6]
    t = two_groups(a, b, Kind.MANN_WHITNEY)
    assert t is not None
    assert t.p == pytest.approx(stats.mannwhitneyu(b, a, alternative="two-sided").pvalue)
    assert t.ci_low is None and t.ci_high is None


def test_too_few_panelists_is_no_test() -> None:
    five, four = [0.1, 0.2, 0.3, 0.4, 0.5], [0.6, 0.7, 0.8, 0.9]
    assert two_groups(five, four) is None
    assert two_groups(five, [*four, None, float("nan")]) is None  # empties are not panelists
    assert two_groups(five, [*four, 1.0]) is not None


def test_constant_groups() -> None:
    same = two_groups([1.0] * 6, [1.0] * 7)
    assert same is not None and same.p == 1.0 and same.difference == 0
    apart = two_groups([1.0] * 6, [0.0] * 7)
    assert apart is not None and apart.p == 0.0 and apart.difference == -1.0


def test_the_correction_is_statsmodels_benjamini_hochberg_over_the_family() -> None:
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    a, wa = sample(rng, 0.0, n=12)
    b, wb = sample(rng, 0.1, n=12)
    c, wc = sample(rng, 0.05, n=12)
    results = compare_groups([a, b, c], [wa, wb, wc], SECONDS)
    assert [(r.a, r.b) for r in results] == [(0, 1), (0, 2), (1, 2)]
    # One family: all three pairs' seconds corrected together.
    raw = [stats.ttest_ind(y[s], x[s], equal_var=False).pvalue
           for x, y in ((a, b), (a, c), (b, c)) for s in range(SECONDS)]  # fmt: skip
    reject, adjusted, _, _ = multipletests(raw, alpha=0.05, method="fdr_bh")
    got = [t for r in results for t in r.seconds]
    assert [t.p_adjusted for t in got if t] == pytest.approx(list(adjusted))
    assert [t.significant for t in got if t] == list(reject)


def test_skipped_seconds_are_not_tested_nor_counted_in_the_family() -> None:
    rng = np.random.default_rng(4)
    a, wa = sample(rng, 0.0)
    b, wb = sample(rng, 0.25)
    (pair,) = compare_groups([a, b], [wa, wb], SECONDS, skip=[{4}, set()])
    assert pair.seconds[4] is None
    assert sum(t is not None for t in pair.seconds) == SECONDS - 1


def test_alpha_is_checked() -> None:
    with pytest.raises(ValueError, match="alpha"):
        significance.check_alpha(0.5)


def test_runs() -> None:
    assert runs([9, 3, 4, 5]) == [(3, 5), (9, 9)]
    assert runs([]) == []
