"""JSON API of the difference tests: between ads (compare) and between segments of one ad."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from web.accounts.auth import CurrentUserDep
from web.deps import SessionDep, SettingsDep
from web.errors import Invalid
from web.results import catalogue, compare, differences, service
from web.results.api import (
    AdIdsQuery,
    MetricsQuery,
    check_compare_count,
    segment_curves,
)
from web.results.deps import AdDep, readable_ads
from web.results.differences import Differences
from web.results.significance import ALPHA_RANGE, DEFAULT_ALPHA, Correction, Kind

router = APIRouter(prefix="/api/v1", tags=["results"])


@dataclass(frozen=True)
class TestChoice:
    """Which test, correction and alpha: from the query, defaults as docs/results.md says."""

    test: Kind | None  # None: chosen from the data (paired when the panelists are the same)
    correction: Correction
    alpha: float


def test_choice(
    test: Annotated[
        Kind | None,
        Query(description="welch: Welch's t test of the means, with an interval of the "
              "difference; mannwhitney: Mann-Whitney U, on ranks; paired: the paired t test, "
              "each panelist against themselves (between ads the same panelists watched), with "
              "an interval; wilcoxon: Wilcoxon's signed-rank test, its counterpart on ranks. "
              "Default: paired when every ad's panelists are the same people, else welch"),
    ] = None,
    correction: Annotated[
        Correction,
        Query(description="fdr_bh: Benjamini-Hochberg (false discovery rate); holm-sidak or "
              "bonferroni: family-wise error"),
    ] = Correction.BENJAMINI_HOCHBERG,
    alpha: Annotated[
        float,
        Query(ge=ALPHA_RANGE[0], le=ALPHA_RANGE[1], description="Significance level"),
    ] = DEFAULT_ALPHA,
) -> TestChoice:  # fmt: skip
    return TestChoice(test, correction, alpha)


TestChoiceDep = Annotated[TestChoice, Depends(test_choice)]


@router.get("/compare/differences", response_model=Differences)
def compare_differences(
    ad_ids: AdIdsQuery,
    user: CurrentUserDep,
    session: SessionDep,
    choice: TestChoiceDep,
    metrics: MetricsQuery = None,
) -> Differences:
    """Is the difference between the ads real? Every pair, per second (ads of equal length) and
    over the whole ad, on each panelist's values; p-values corrected over the seconds and pairs
    of each metric (docs/results.md, "Is the difference real?")."""
    accesses = readable_ads(ad_ids, user, session)
    check_compare_count(len(accesses))
    ads = [a.ad for a in accesses]
    on_device = all(ad.study.on_device for ad in ads)  # one mode: mixed modes are refused
    allowed = tuple(
        m for m in compare.compare_metrics(session, ads) if catalogue.measured(m, on_device)
    )
    chosen = service.check_metrics(metrics or [], allowed) if metrics else allowed
    return differences.between_ads(
        session, ads, chosen, test=choice.test, alpha=choice.alpha, correction=choice.correction
    )


@router.get("/ads/{ad_id}/segments/differences", response_model=Differences)
def segment_differences(
    access: AdDep,
    session: SessionDep,
    settings: SettingsDep,
    choice: TestChoiceDep,
    segment: Annotated[
        str, Query(min_length=1, max_length=64, description="The pass-through variable")
    ],
    metrics: MetricsQuery = None,
) -> Differences:
    """Is the difference between the segments real? Every pair of the groups shown (small
    groups and blanked seconds are never tested), per second and over the whole ad. Segments
    are different panelists: a paired test is refused (400)."""
    differences.segments_test(choice.test)  # refused before any work
    curves = segment_curves(session, settings, access, segment)
    allowed = tuple(
        m for m in catalogue.chart_metrics(catalogue.shows_emotions(session, access.study))
        if catalogue.measured(m, access.study.on_device)
    )  # fmt: skip
    chosen = service.check_metrics(metrics or [], allowed) if metrics else allowed
    if len(curves.segments) < 2:
        raise Invalid(
            f"{segment!r} has fewer than two groups shown (groups under "
            f"{curves.min_cell_size} panelists are hidden): nothing to compare",
            code="too_few_groups",
        )
    return differences.between_segments(
        session, curves, chosen, test=choice.test, alpha=choice.alpha, correction=choice.correction
    )
