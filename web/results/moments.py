"""Key moments: the strongest peaks of the aggregated expressions, where attention holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from web.results.maths import quantile

# A second counts only if the mean attention share there is at least this: a peak while most
# panelists look away is noise, not a reaction to the ad.
KEY_MOMENT_MIN_ATTENTION = 0.5
# Peaks closer than this belong to the same moment; the stronger one is kept.
KEY_MOMENT_MIN_SEPARATION_S = 3
# A peak must also rise at least this far above the expression's own median over attended
# seconds, on the 0..1 scale where 1 is a pronounced expression (EXPRESSION_RANGE in
# worker/analysis/constants.py): 0.1 is a tenth of one. On a still face the mesh's jitter reaches
# ~4% of a full expression per frame (lip press ~9%, 90th percentile) and the analysis zeroes only
# changes under 5%, so wobble and small shifts of posture leave a few hundredths in the curves,
# which a mean over a handful of panelists does not average away (QA's demo run listed a
# "brow furrow peak 0.02, +0.02 above its median" from one still face). 0.1 is above the worst
# jitter of any expression and twice the dead zone, yet a real reaction clears it: a quarter of
# the panel showing 40% of a full smile, or everyone a slight one, lifts the mean by 0.1.
KEY_MOMENT_MIN_LIFT = 0.1
KEY_MOMENT_LIMIT = 5


@dataclass(frozen=True)
class KeyMoment:
    """A peak of one expression: its second, mean value, lift above its median, attention."""

    second: int
    metric: str
    value: float
    lift: float
    attention: float


def _is_peak(values: Sequence[float | None], second: int) -> bool:
    """At least as high as each neighbour that exists, and higher than one of them."""
    value = values[second]
    assert value is not None
    neighbours = [
        values[i]
        for i in (second - 1, second + 1)
        if 0 <= i < len(values) and values[i] is not None
    ]
    return all(value >= v for v in neighbours if v is not None) and (
        not neighbours or any(value > v for v in neighbours if v is not None)
    )


def key_moments(
    attention: Sequence[float | None],
    expressions: Mapping[str, Sequence[float | None]],
    *,
    min_attention: float = KEY_MOMENT_MIN_ATTENTION,
    min_separation_s: int = KEY_MOMENT_MIN_SEPARATION_S,
    min_lift: float = KEY_MOMENT_MIN_LIFT,
    limit: int = KEY_MOMENT_LIMIT,
) -> list[KeyMoment]:
    """The strongest expression peaks at attended seconds, strongest first.

    Strength is the lift over the expression's median across attended seconds, so expressions
    with different resting levels compete fairly. Peaks of any expression closer than
    `min_separation_s` to a stronger one are dropped: one moment, one entry.
    """
    if min_separation_s < 0 or limit < 0:
        raise ValueError("min_separation_s and limit must be >= 0")
    attended = [s for s, a in enumerate(attention) if a is not None and a >= min_attention]
    candidates: list[KeyMoment] = []
    for metric, values in sorted(expressions.items()):
        if len(values) != len(attention):
            raise ValueError(f"{metric} has {len(values)} seconds, attention {len(attention)}")
        baseline_values = sorted(v for s in attended if (v := values[s]) is not None)
        if not baseline_values:
            continue
        baseline = quantile(baseline_values, 0.5)
        for second in attended:
            value = values[second]
            if value is None or not _is_peak(values, second):
                continue
            lift = value - baseline
            if lift >= min_lift:
                level = attention[second]
                assert level is not None
                candidates.append(KeyMoment(second, metric, value, lift, level))
    candidates.sort(key=lambda m: (-m.lift, m.second, m.metric))
    chosen: list[KeyMoment] = []
    for moment in candidates:
        if len(chosen) >= limit:
            break
        if all(abs(moment.second - c.second) >= min_separation_s for c in chosen):
            chosen.append(moment)
    return chosen
