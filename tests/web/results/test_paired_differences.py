"""Paired tests: when the same panelists watched both ads, each is compared with themselves.

The seeded answer is known. Each panelist has a level of their own (mean 0.4, sd 0.15 between
panelists: some smile a lot, some little) and varies little around it (sd 0.03 per second and
ad); ad B lifts everyone by 0.06 at 3-6 s. Compared with themselves, 20 panelists show the lift
clearly (paired t about 6, p ~ 1e-5 per second); compared as strangers, the spread between
people (0.15) swamps it (Welch t about 1.2, p ~ 0.2), so the unpaired test finds nothing.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy import stats
from sqlalchemy.orm import Session

from tests.support.auth import login
from tests.support.factories import make_ad
from tests.web.results.conftest import World
from tests.web.results.seed import add_panelist
from web.results import differences, significance
from web.results.significance import Kind, compare_groups, compare_paired, paired_groups
from web.settings import Settings
from web.studies.models import Ad, Study

SECONDS = 10
REAL = [3, 4, 5, 6]
LIFT = 0.06


def panel(
    rng: np.random.Generator, n: int = 20, lift: float = LIFT
) -> tuple[np.ndarray, np.ndarray]:
    """Per panelist and second: their smile in ad A and in ad B."""
    level = rng.normal(0.4, 0.15, size=(n, 1))
    a = level + rng.normal(0, 0.03, size=(n, SECONDS))
    b = level + rng.normal(0, 0.03, size=(n, SECONDS))
    b[:, REAL] += lift
    return np.clip(a, 0, 1), np.clip(b, 0, 1)


def keyed(values: np.ndarray) -> tuple[dict[int, dict[int, float]], dict[int, float]]:
    """Per second: panelist -> value; and panelist -> mean over the ad."""
    per_second = {s: {i: float(values[i, s]) for i in range(len(values))} for s in range(SECONDS)}
    return per_second, {i: float(values[i].mean()) for i in range(len(values))}


def flagged_paired(seed: int, lift: float, kind: Kind = Kind.PAIRED_T) -> list[int]:
    a, b = panel(np.random.default_rng(seed), lift=lift)
    (sa, wa), (sb, wb) = keyed(a), keyed(b)
    (pair,) = compare_paired([sa, sb], [wa, wb], SECONDS, kind=kind)
    return [s for s, t in enumerate(pair.seconds) if t and t.significant]


@pytest.mark.parametrize("kind", sorted(significance.PAIRED_KINDS))
def test_a_paired_lift_is_found_at_3_to_6_s(kind: Kind) -> None:
    results = [set(flagged_paired(seed, LIFT, kind)) for seed in range(100)]
    # t about 6 (Wilcoxon: every one of 20 panelists up, p ~ 2e-6): every sample finds 3-6 s.
    assert all(found >= set(REAL) for found in results)
    # Benjamini-Hochberg: the expected share of wrong flags among flags stays under alpha.
    wrong = [len(found - set(REAL)) / len(found) for found in results]
    assert sum(wrong) / len(wrong) <= 0.05
    assert sum(found == set(REAL) for found in results) >= 85


def test_the_same_data_tested_unpaired_finds_nothing() -> None:
    """The reason for the paired test: Welch's, blind to who is who, misses the lift."""
    found = 0
    for seed in range(100):
        a, b = panel(np.random.default_rng(seed))
        per_a = {s: list(a[:, s]) for s in range(SECONDS)}
        per_b = {s: list(b[:, s]) for s in range(SECONDS)}
        (pair,) = compare_groups([per_a, per_b], [list(a.mean(1)), list(b.mean(1))], SECONDS)
        found += any(t and t.significant for t in pair.seconds)
    assert found <= 10


@pytest.mark.parametrize("kind", sorted(significance.PAIRED_KINDS))
def test_no_lift_flags_nothing_in_most_samples(kind: Kind) -> None:
    # Under no difference at all BH bounds the chance of any flag by alpha (5 in 100 expected).
    assert sum(bool(flagged_paired(seed, 0.0, kind)) for seed in range(100)) <= 10


def test_pairs_are_matched_by_panelist_not_by_position() -> None:
    a = {"p1": 0.10, "p2": 0.50, "p3": 0.30, "p4": 0.90, "p5": 0.70, "p6": 0.20}
    lift = {"p1": 0.05, "p2": 0.07, "p3": 0.04, "p4": 0.06, "p5": 0.08, "p6": 0.05}
    b = {k: a[k] + lift[k] for k in a}
    shuffled = dict(random.Random(3).sample(sorted(b.items()), len(b)))
    b_only = {**shuffled, "p7": 0.99}  # watched ad B only: left out
    a_only = {**a, "p8": None, "p9": 0.0}  # no value for B: left out
    t = paired_groups(a_only, b_only, Kind.PAIRED_T)
    assert t is not None and t.n_a == t.n_b == 6
    expected = stats.ttest_rel([b[k] for k in a], list(a.values()))
    assert t.p == pytest.approx(expected.pvalue) and t.p < 0.001
    assert t.difference == pytest.approx(sum(lift.values()) / 6)
    assert t.ci_low is not None and t.ci_high is not None
    assert 0.04 < t.ci_low < t.difference < t.ci_high < 0.08
    w = paired_groups(a, shuffled, Kind.WILCOXON)
    # Six panelists all up: the smallest two-sided p a signed-rank test of 6 can give, 2/64.
    assert w is not None and w.p == pytest.approx(2 / 64) and w.ci_low is None


def test_paired_edge_cases() -> None:
    a = {i: 0.2 * i for i in range(6)}
    moved = paired_groups(a, {i: v + 0.1 for i, v in a.items()})
    assert moved is not None and moved.p == 0.0 and moved.difference == pytest.approx(0.1)
    still = paired_groups(a, dict(a))
    assert still is not None and still.p == 1.0 and still.difference == 0.0
    assert paired_groups(a, {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0}) is None  # 4 pairs < MIN_TEST_N
    with pytest.raises(ValueError, match="not a paired test"):
        paired_groups(a, a, Kind.WELCH)
    with pytest.raises(ValueError, match="paired test"):
        compare_groups([{}], [[]], 0, kind=Kind.PAIRED_T)


# End to end: the same panelists in the database, the service and the API.


def seed_same_panelists(
    session: Session, study: Study, seed: int, n: int = 20, only_a: int = 0
) -> tuple[Ad, Ad]:
    """`n` panelists who each watched both ads in one session (plus `only_a` who saw A only)."""
    a_values, b_values = panel(np.random.default_rng(seed), n=n)
    ad_a = make_ad(session, study, duration_s=SECONDS, title="Plain")
    ad_b = make_ad(session, study, duration_s=SECONDS, title="Lifted")
    for i in range(n):
        first = add_panelist(session, ad_a, {"smile": list(map(float, a_values[i]))})
        second = add_panelist(session, ad_b, {"smile": list(map(float, b_values[i]))})
        # One panelist, one session, both ads (as the recorder shows a study's ads in turn).
        second.clip.session_id = first.panel_session.id
        first.panel_session.ad_order = [ad_a.id, ad_b.id]
        session.flush()
    rng = np.random.default_rng(seed + 1000)
    for _ in range(only_a):
        add_panelist(session, ad_a, {"smile": list(np.clip(rng.normal(0.4, 0.15, SECONDS), 0, 1))})
    return ad_a, ad_b


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_panelists_are_paired_by_themselves(
    db_session: Session, world: World, seed: int
) -> None:
    ad_a, ad_b = seed_same_panelists(db_session, world.study, seed)
    found = differences.between_ads(db_session, [ad_a, ad_b], ["smile"])
    assert found.test == Kind.PAIRED_T and found.paired and found.same_panelists
    smile = found.metrics["smile"]
    # Through the database, the same numbers as the pure test on the same seed (seed 2 also
    # flags 7 s by chance: Benjamini-Hochberg allows a few wrong flags, see above).
    assert smile.significant_seconds == flagged_paired(seed, LIFT)
    assert set(REAL) <= set(smile.significant_seconds)
    (pair,) = smile.pairs
    for s in REAL:
        t = pair.seconds[s]
        assert t is not None and t.n_a == t.n_b == 20
        assert t.difference == pytest.approx(LIFT, abs=0.025)
        assert t.ci_low is not None and t.ci_low > 0
    # Over the ad: 0.06 for 4 seconds in 10, 0.024 each, and within each panelist it holds.
    assert pair.whole is not None and pair.whole.significant
    assert pair.whole.difference == pytest.approx(0.024, abs=0.01)
    assert "Paired t test" in found.method and "same panelists watched every ad" in found.method
    # Asked for Welch's instead, the same data says nothing: the spread between people hides it.
    welch = differences.between_ads(db_session, [ad_a, ad_b], ["smile"], test=Kind.WELCH)
    assert not welch.paired and welch.metrics["smile"].significant_seconds == []


def test_different_panelists_are_not_paired_unless_asked(db_session: Session, world: World) -> None:
    ad_a, ad_b = seed_same_panelists(db_session, world.study, 4, n=20, only_a=5)
    auto = differences.between_ads(db_session, [ad_a, ad_b], ["smile"])
    assert auto.test == Kind.WELCH and not auto.paired and not auto.same_panelists
    (pair,) = auto.metrics["smile"].pairs
    assert pair.seconds[4] is not None and pair.seconds[4].n_a == 25
    asked = differences.between_ads(db_session, [ad_a, ad_b], ["smile"], test=Kind.WILCOXON)
    assert asked.paired and not asked.same_panelists
    (pair,) = asked.metrics["smile"].pairs
    t = pair.seconds[4]
    assert t is not None and t.n_a == t.n_b == 20  # only those who watched both
    assert asked.metrics["smile"].significant_seconds == REAL
    assert "only panelists who watched both ads" in asked.method


def test_the_api_pairs_and_segments_refuse_pairing(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    ad_a, ad_b = seed_same_panelists(db_session, world.study, 1)
    login(client, settings, world.analyst)
    query = f"ad={ad_a.id}&ad={ad_b.id}&metric=smile"
    auto = client.get(f"/api/v1/compare/differences?{query}")
    assert auto.status_code == 200, auto.text
    body = auto.json()
    assert body["test"] == "paired" and body["paired"] and body["same_panelists"]
    assert body["metrics"]["smile"]["significant_seconds"] == REAL
    welch = client.get(f"/api/v1/compare/differences?{query}&test=welch").json()
    assert welch["test"] == "welch" and welch["metrics"]["smile"]["significant_seconds"] == []
    page = client.get(f"/results/compare?ad={ad_a.id}&ad={ad_b.id}&metric=smile")
    assert page.status_code == 200 and "Paired t test" in page.text
    refused = client.get(f"/api/v1/ads/{world.ad.id}/segments/differences?segment=age&test=paired")
    assert refused.status_code == 400
    assert refused.json()["code"] == "paired_test_not_applicable"
