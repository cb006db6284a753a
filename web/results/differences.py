"""Whether differences between ads (compare) or between segments (split by a pass-through
variable) are real: reads each counted panelist's own values, tests them with
web/results/significance.py, and says what holds in a sentence a reader (and a screen reader)
can follow.

Between ads watched by the same panelists (one session, several ads), each panelist is compared
with themselves (a paired test): chosen by itself when every ad's panelists are the same people,
or when asked for (then only the panelists who saw both ads of a pair are tested).

Only panelists in the aggregates are tested (clip.aggregated: analysed, usable, not a
designer's preview, not a duplicate respondent), so the tests are about the curves on screen.
Between segments only the groups the page shows are tested, and never at a second the page
blanks for a group (cell-size suppression): a test says nothing about data that is hidden.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.metrics import EMOTION_METRICS
from web.clips.aggregates import segment_keys
from web.clips.models import Clip, ClipEmotionSecond, ClipSecond, PanelSession
from web.errors import Invalid
from web.results import catalogue, significance
from web.results.schemas import AdCurves
from web.results.significance import (
    DEFAULT_ALPHA,
    MIN_TEST_N,
    PAIRED_KINDS,
    Correction,
    Kind,
    Tested,
)
from web.studies.models import Ad

# Where docs/results.md explains the tests (served at /help/results).
DOCS_ANCHOR = "/help/results#is-the-difference-real"
TEST_NAMES = {
    Kind.WELCH: "Welch t test",
    Kind.MANN_WHITNEY: "Mann-Whitney U test",
    Kind.PAIRED_T: "Paired t test",
    Kind.WILCOXON: "Wilcoxon signed-rank test",
}
CORRECTION_NAMES = {
    Correction.BENJAMINI_HOCHBERG: "Benjamini-Hochberg",
    Correction.HOLM_SIDAK: "Holm-Sidak",
    Correction.BONFERRONI: "Bonferroni",
}

# metric -> second -> value: one panelist's values for one ad
Values = dict[str, dict[int, float]]
# panelist (their panel session's id) -> values, for one ad or group
PanelistValues = dict[int, Values]


@dataclass(frozen=True)
class Counted:
    """One counted clip: its ad, its panelist (panel session), pass-through variables, values."""

    ad_id: int
    panelist: int
    passthrough: dict[str, object]
    values: Values


class DifferenceTest(BaseModel):
    """Group b against group a: means, b - a with its interval (Welch), p before and after the
    correction, and whether the difference holds at the chosen alpha."""

    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    difference: float = Field(description="mean_b - mean_a")
    ci_low: float | None = Field(
        description="Interval of the difference at 1 - alpha (Welch or paired t only)"
    )
    ci_high: float | None
    statistic: float | None = Field(
        description="t (Welch, paired t), U (Mann-Whitney) or W (Wilcoxon)"
    )
    p: float = Field(description="p-value of this test alone")
    p_adjusted: float = Field(description="p-value corrected over the family of tests")
    significant: bool = Field(description="p_adjusted <= alpha: the difference holds")


class PairDifferences(BaseModel):
    a: str = Field(description="Group a: an ad's title or a segment value")
    b: str
    a_ad_id: int | None = None
    b_ad_id: int | None = None
    whole: DifferenceTest | None = Field(
        description="Each panelist's mean over the ad; None if a group has too few panelists"
    )
    seconds: list[DifferenceTest | None] = Field(
        description="Per second of the axis; None where not tested (too few panelists, a "
        "hidden cell, or ads of different lengths)"
    )
    significant_seconds: list[int]


class MetricDifferences(BaseModel):
    metric: str
    pairs: list[PairDifferences]
    significant_seconds: list[int] = Field(description="Seconds where any pair differs")
    tests: int = Field(description="Per-second tests made (the family corrected together)")
    sentence: str = Field(description="What holds, in words (the pages' readout)")


class Differences(BaseModel):
    """Tests of every pair of groups, per metric, per second and over the whole ad."""

    kind: Literal["ads", "segments"]
    test: Kind
    correction: Correction
    alpha: float
    min_n: int = Field(description="Panelists needed in each group for a test")
    unit: Literal["panelist"] = "panelist"
    paired: bool = Field(
        default=False,
        description="Each panelist compared with themselves (a paired test): the ads were "
        "watched by the same panelists, or a paired test was asked for",
    )
    same_panelists: bool = Field(
        default=False, description="Every ad's counted panelists are the same people"
    )
    per_second: bool = Field(
        description="False when ads differ in length: only whole-ad tests are made"
    )
    seconds: list[int]
    groups: list[str]
    segment_var: str | None = None
    metrics: dict[str, MetricDifferences]
    method: str = Field(description="The method in words")
    docs: str = DOCS_ANCHOR


def counted_values(
    session: Session, ad_ids: Sequence[int], metrics: Sequence[str]
) -> dict[int, Counted]:
    """Per counted clip (by id): its ad, panelist, pass-through variables and values."""
    clips = session.execute(
        select(Clip.id, Clip.ad_id, Clip.session_id, PanelSession.passthrough)
        .join(PanelSession, PanelSession.id == Clip.session_id)
        .where(Clip.ad_id.in_(list(ad_ids)), Clip.aggregated.is_(True))
    ).all()
    out: dict[int, Counted] = {
        clip_id: Counted(ad_id, session_id, dict(passthrough or {}), defaultdict(dict))
        for clip_id, ad_id, session_id, passthrough in clips
    }
    if not out:
        return out
    curve = [m for m in metrics if m not in EMOTION_METRICS and catalogue.measured(m)]
    emotion = [m for m in metrics if m in EMOTION_METRICS]
    model: type[ClipSecond] | type[ClipEmotionSecond]
    for model, names in ((ClipSecond, curve), (ClipEmotionSecond, emotion)):
        if not names:
            continue
        columns = [getattr(model, m) for m in names]
        rows = session.execute(
            select(model.clip_id, model.second, *columns).where(model.clip_id.in_(list(out)))
        )
        for clip_id, second, *values in rows:
            per_metric = out[clip_id].values
            for metric, value in zip(names, values, strict=True):
                if value is not None and math.isfinite(value):
                    per_metric[metric][second] = float(value)
    return out


def _paired_samples(
    panelists: Mapping[int, Values], metric: str
) -> tuple[dict[int, dict[int, float]], dict[int, float]]:
    """One group's values of a metric keyed by panelist: per second, and each one's mean."""
    by_second: dict[int, dict[int, float]] = defaultdict(dict)
    wholes = {}
    for panelist, values in panelists.items():
        seconds = values.get(metric, {})
        for second, value in seconds.items():
            by_second[second][panelist] = value
        if seconds:
            wholes[panelist] = sum(seconds.values()) / len(seconds)
    return by_second, wholes


def _samples(
    panelists: Sequence[Values], metric: str
) -> tuple[dict[int, list[float]], list[float]]:
    """One group's per-second values and per-panelist whole-ad means of a metric."""
    by_second: dict[int, list[float]] = defaultdict(list)
    for values in panelists:
        for second, value in values.get(metric, {}).items():
            by_second[second].append(value)
    wholes = significance.panelist_means(
        [list(values.get(metric, {}).values()) for values in panelists]
    )
    return by_second, wholes


def _out(tested: Tested | None) -> DifferenceTest | None:
    if tested is None:
        return None
    t = tested.test
    return DifferenceTest(
        n_a=t.n_a, n_b=t.n_b, mean_a=t.mean_a, mean_b=t.mean_b, difference=t.difference,
        ci_low=t.ci_low, ci_high=t.ci_high, statistic=t.statistic, p=t.p,
        p_adjusted=tested.p_adjusted, significant=tested.significant,
    )  # fmt: skip


def p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _interval(t: DifferenceTest, alpha: float) -> str:
    if t.ci_low is None or t.ci_high is None:
        return ""
    return f", {100 * (1 - alpha):.0f}% CI {t.ci_low:+.2f} to {t.ci_high:+.2f}"


def _span(first: int, last: int) -> str:
    return f"{first} s" if first == last else f"{first}\u2013{last} s"


def pair_sentence(pair: PairDifferences, alpha: float, per_second: bool) -> str:
    """What holds between one pair, in words."""
    parts = []
    if per_second:
        spans = []
        for first, last in significance.runs(pair.significant_seconds):
            tests = [pair.seconds[s] for s in range(first, last + 1)]
            biggest = max((t for t in tests if t), key=lambda t: abs(t.difference))
            word = "higher" if biggest.difference > 0 else "lower"
            spans.append(
                f"at {_span(first, last)}, {pair.b} is {word} than {pair.a} (largest "
                f"{biggest.difference:+.2f}{_interval(biggest, alpha)}, adjusted "
                f"{p_text(biggest.p_adjusted)})"
            )
        if spans:
            parts.append("; ".join(spans))
        elif any(pair.seconds):
            parts.append(f"{pair.b} and {pair.a}: no second differs")
        else:
            parts.append(f"{pair.b} and {pair.a}: no second could be tested (too few panelists)")
    whole = pair.whole
    if whole is None:
        parts.append("the whole ad could not be tested (too few panelists)")
    elif whole.significant:
        word = "higher" if whole.difference > 0 else "lower"
        parts.append(
            f"over the whole ad, {pair.b} is {word} than {pair.a} by {abs(whole.difference):.2f}"
            f"{_interval(whole, alpha)}, adjusted {p_text(whole.p_adjusted)}"
        )
    else:
        parts.append(
            f"over the whole ad, {pair.b} and {pair.a} do not differ "
            f"({whole.difference:+.2f}, adjusted {p_text(whole.p_adjusted)})"
        )
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def method_text(
    test: Kind,
    correction: Correction,
    alpha: float,
    tests: int,
    per_second: bool,
    same_panelists: bool = False,
) -> str:
    what = "each panelist's value per second and each panelist's mean over the ad"
    if not per_second:
        what = "each panelist's mean over the ad (the ads differ in length: no per-second test)"
    if test in PAIRED_KINDS:
        who = (
            "the same panelists watched every ad, each compared with themselves"
            if same_panelists
            else "only panelists who watched both ads of a pair, each compared with themselves"
        )
        what = f"{what} ({who})"
        needs = f"a pair needs {MIN_TEST_N} panelists who watched both"
    else:
        needs = f"a group needs {MIN_TEST_N} panelists"
    return (
        f"{TEST_NAMES[test]} on {what}; {CORRECTION_NAMES[correction]} correction over "
        f"{tests} per-second test{'s' if tests != 1 else ''}, alpha = {alpha:g}; {needs}."
    )


def _metric(
    metric: str,
    names: Sequence[str],
    ad_ids: Sequence[int | None],
    groups: Sequence[PanelistValues],
    length: int,
    per_second: bool,
    test: Kind,
    alpha: float,
    correction: Correction,
    skip: Sequence[set[int]] = (),
) -> MetricDifferences:
    if test in PAIRED_KINDS:
        paired = [_paired_samples(g, metric) for g in groups]
        results = significance.compare_paired(
            [p[0] for p in paired], [p[1] for p in paired], length,
            kind=test, alpha=alpha, method=correction, per_second=per_second,
        )  # fmt: skip
    else:
        samples = [_samples(list(g.values()), metric) for g in groups]
        results = significance.compare_groups(
            [s[0] for s in samples], [s[1] for s in samples], length,
            kind=test, alpha=alpha, method=correction, per_second=per_second, skip=skip,
        )  # fmt: skip
    pairs = []
    for r in results:
        seconds = [_out(t) for t in r.seconds] if per_second else [None] * length
        pairs.append(
            PairDifferences(
                a=names[r.a], b=names[r.b], a_ad_id=ad_ids[r.a], b_ad_id=ad_ids[r.b],
                whole=_out(r.whole), seconds=seconds,
                significant_seconds=[s for s, t in enumerate(seconds) if t and t.significant],
            )
        )  # fmt: skip
    tests = sum(1 for p in pairs for t in p.seconds if t is not None)
    sentences = [pair_sentence(p, alpha, per_second) for p in pairs]
    return MetricDifferences(
        metric=metric,
        pairs=pairs,
        significant_seconds=sorted({s for p in pairs for s in p.significant_seconds}),
        tests=tests,
        sentence=" ".join(sentences),
    )


def axis_length(ads: Sequence[Ad], values: dict[int, PanelistValues]) -> dict[int, int]:
    """Seconds on each ad's axis: its whole seconds, or more if curves run past them (as
    maths.curve_length does for the aggregates)."""
    out = {}
    for ad in ads:
        last = max(
            (s for clip in values[ad.id].values() for per in clip.values() for s in per),
            default=-1,
        )
        out[ad.id] = max(math.ceil(ad.duration_s), last + 1, 0)
    return out


def between_ads(
    session: Session,
    ads: Sequence[Ad],
    metrics: Sequence[str],
    *,
    test: Kind | None = None,
    alpha: float = DEFAULT_ALPHA,
    correction: Correction = Correction.BENJAMINI_HOCHBERG,
) -> Differences:
    """Every pair of the ads on each metric: per second if they are equally long (as compare
    draws them on seconds), and over the whole ad. With no `test` given: the paired t test when
    every ad's counted panelists are the same people, else Welch's."""
    significance.check_alpha(alpha)
    read = counted_values(session, [ad.id for ad in ads], metrics)
    values: dict[int, PanelistValues] = {ad.id: {} for ad in ads}
    for counted in read.values():
        values[counted.ad_id][counted.panelist] = counted.values
    who = [set(values[ad.id]) for ad in ads]
    same_panelists = bool(who[0]) and all(w == who[0] for w in who)
    if test is None:
        test = Kind.PAIRED_T if same_panelists else Kind.WELCH
    lengths = axis_length(ads, values)
    per_second = len(set(lengths.values())) == 1
    length = lengths[ads[0].id] if per_second else 0
    names = [ad.title for ad in ads]
    groups = [values[ad.id] for ad in ads]
    ids: list[int | None] = [ad.id for ad in ads]
    by_metric = {
        m: _metric(m, names, ids, groups, length, per_second, test, alpha, correction)
        for m in metrics
    }
    tests = max((d.tests for d in by_metric.values()), default=0)
    return Differences(
        kind="ads", test=test, correction=correction, alpha=alpha, min_n=MIN_TEST_N,
        paired=test in PAIRED_KINDS, same_panelists=same_panelists,
        per_second=per_second, seconds=list(range(length)), groups=names, metrics=by_metric,
        method=method_text(test, correction, alpha, tests, per_second, same_panelists),
    )  # fmt: skip


def segments_test(test: Kind | None) -> Kind:
    """The test between segments: Welch's unless another is asked; never a paired one."""
    if test in PAIRED_KINDS:
        raise Invalid(
            f"A {TEST_NAMES[test]} compares each panelist with themselves; the segments of a "
            "variable are different panelists: use welch or mannwhitney",
            code="paired_test_not_applicable",
        )
    return test or Kind.WELCH


def between_segments(
    session: Session,
    curves: AdCurves,
    metrics: Sequence[str],
    *,
    test: Kind | None = None,
    alpha: float = DEFAULT_ALPHA,
    correction: Correction = Correction.BENJAMINI_HOCHBERG,
) -> Differences:
    """Every pair of the segments `curves` shows (service.ad_curves split by a variable), on
    each metric, per second and over the whole ad; seconds a group's curve blanks are not
    tested for it. Segments are different panelists: Welch's test unless another is asked."""
    significance.check_alpha(alpha)
    test = segments_test(test)
    var = curves.segment_var or ""
    shown = [s.segment_value for s in curves.segments]
    read = counted_values(session, [curves.ad_id], metrics)
    members: dict[str, PanelistValues] = {value: {} for value in shown}
    for counted in read.values():
        for key_var, key_value in segment_keys(counted.passthrough):
            if key_var == var and key_value in members:
                members[key_value][counted.panelist] = counted.values
    length = len(curves.seconds)
    groups = [members[v] for v in shown]
    by_metric = {}
    for m in metrics:
        skip = [
            {s for s, n in enumerate(segment.curves[m].n) if n is None}
            if m in segment.curves else set(range(length))
            for segment in curves.segments
        ]  # fmt: skip
        by_metric[m] = _metric(
            m, shown, [None] * len(shown), groups, length, True, test, alpha, correction, skip
        )
    tests = max((d.tests for d in by_metric.values()), default=0)
    return Differences(
        kind="segments", test=test, correction=correction, alpha=alpha, min_n=MIN_TEST_N,
        per_second=True, seconds=list(range(length)), groups=shown, segment_var=var,
        metrics=by_metric, method=method_text(test, correction, alpha, tests, True),
    )  # fmt: skip
