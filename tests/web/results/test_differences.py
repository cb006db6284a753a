"""Difference tests end to end: seeded panelists in the database, the service, the JSON API and
the compare and segments pages. The seeded answer is known: two ads alike but at 3-6 s."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.auth import login
from tests.support.factories import make_ad, make_study
from tests.web.results.conftest import World, member
from tests.web.results.seed import add_panelist
from web.accounts.models import Organisation, Role
from web.results import differences
from web.settings import Settings
from web.studies.models import Ad

SECONDS = 10
REAL = [3, 4, 5, 6]


def curves(rng: np.random.Generator, lift: float) -> dict[str, list[float | None]]:
    """One panelist: attention alike in both ads, smile `lift` higher at 3-6 s."""
    smile = np.clip(rng.normal(0.2, 0.08, SECONDS), 0, 1)
    smile[REAL] += lift
    attention = np.clip(rng.normal(0.8, 0.1, SECONDS), 0, 1)
    return {"attention": list(map(float, attention)), "smile": list(map(float, smile))}


def seed_ads(
    session: Session, study: Any, seed: int, lift: float, n: int = 25
) -> tuple[Ad, Ad]:  # fmt: skip
    rng = np.random.default_rng(seed)
    plain = make_ad(session, study, duration_s=SECONDS, title="Plain")
    lifted = make_ad(session, study, duration_s=SECONDS, title="Lifted")
    for i in range(n):
        add_panelist(session, plain, curves(rng, 0.0), {"region": "north" if i % 2 else "south"})
        add_panelist(session, lifted, curves(rng, lift))
    return plain, lifted


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_real_difference_is_flagged_at_3_to_6_s_only(db_session: Session, seed: int) -> None:
    study = make_study(db_session)
    plain, lifted = seed_ads(db_session, study, seed, 0.3)
    found = differences.between_ads(db_session, [plain, lifted], ["attention", "smile"])
    assert found.per_second and found.seconds == list(range(SECONDS))
    smile = found.metrics["smile"]
    assert smile.significant_seconds == REAL
    (pair,) = smile.pairs
    assert (pair.a, pair.b) == ("Plain", "Lifted")
    for s in REAL:
        t = pair.seconds[s]
        assert t is not None and t.n_a == t.n_b == 25
        assert t.difference == pytest.approx(0.3, abs=0.08)
        assert t.ci_low is not None and t.ci_low > 0
    # Over the ad the lift is 4 seconds in 10: 0.12 on average, and it holds.
    assert pair.whole is not None and pair.whole.significant
    assert pair.whole.difference == pytest.approx(0.12, abs=0.04)
    # Attention is alike: nothing flagged, not even over the whole ad.
    assert found.metrics["attention"].significant_seconds == []
    assert "3\u20136 s, Lifted is higher than Plain" in smile.sentence


def test_alike_ads_flag_nothing(db_session: Session) -> None:
    study = make_study(db_session)
    plain, same = seed_ads(db_session, study, 11, 0.0)
    found = differences.between_ads(db_session, [plain, same], ["attention", "smile"])
    for metric in ("attention", "smile"):
        assert found.metrics[metric].significant_seconds == []
        assert found.metrics[metric].tests == SECONDS
        assert "no second differs" in found.metrics[metric].sentence


def test_only_counted_panelists_are_tested(db_session: Session) -> None:
    """Previews and unusable clips are not in the curves, so not in the tests either."""
    study = make_study(db_session)
    plain, lifted = seed_ads(db_session, study, 5, 0.3, n=4)
    rng = np.random.default_rng(0)
    for _ in range(10):
        add_panelist(db_session, plain, curves(rng, 0.0), preview=True)
        add_panelist(db_session, lifted, curves(rng, 0.3), usable=False)
    found = differences.between_ads(db_session, [plain, lifted], ["smile"])
    # Four counted panelists a side: below the minimum, so nothing is tested.
    (pair,) = found.metrics["smile"].pairs
    assert pair.whole is None and not any(pair.seconds)
    assert "too few panelists" in found.metrics["smile"].sentence


def test_ads_of_different_lengths_are_tested_over_the_whole_ad_only(db_session: Session) -> None:
    study = make_study(db_session)
    rng = np.random.default_rng(9)
    short = make_ad(db_session, study, duration_s=6, title="Short")
    long = make_ad(db_session, study, duration_s=SECONDS, title="Long")
    for _ in range(8):
        add_panelist(db_session, short, {"smile": [0.1] * 6 + [None] * 0})
        add_panelist(db_session, long, {"smile": list(np.clip(rng.normal(0.5, 0.05, 10), 0, 1))})
    found = differences.between_ads(db_session, [short, long], ["smile"])
    assert not found.per_second and found.seconds == []
    (pair,) = found.metrics["smile"].pairs
    assert pair.seconds == [] and pair.whole is not None and pair.whole.significant
    assert "no per-second test" in found.method


def _segments_world(db_session: Session, settings: Settings) -> tuple[Ad, Any]:
    """An ad whose 'south' panelists smile more at 3-6 s than the 'north' ones, 12 of each; a
    'west' group of 3 hidden by the minimum cell size (10), and an 'east' one of 11 hidden too,
    so that west cannot be worked out by subtraction (both smile far more: were they tested,
    the sentences would name them)."""
    organisation = Organisation(name="Acme Research")
    study = make_study(db_session, organisation)
    ad = make_ad(db_session, study, duration_s=SECONDS, title="Split")
    rng = np.random.default_rng(21)
    for i in range(24):
        region = "south" if i % 2 else "north"
        add_panelist(db_session, ad, curves(rng, 0.3 if region == "south" else 0.0),
                     {"region": region})  # fmt: skip
    for _ in range(3):
        add_panelist(db_session, ad, curves(rng, 0.9), {"region": "west"})
    for _ in range(11):
        add_panelist(db_session, ad, curves(rng, 0.9), {"region": "east"})
    analyst = member(db_session, "ana@acme.example", Role.ANALYST, organisation)
    return ad, analyst


def test_segments_differ_at_3_to_6_s_and_hidden_groups_are_not_tested(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    ad, analyst = _segments_world(db_session, settings)
    login(client, settings, analyst)
    response = client.get(f"/api/v1/ads/{ad.id}/segments/differences?segment=region&metric=smile")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["groups"] == ["north", "south"]  # west and east are hidden: not tested
    assert body["unit"] == "panelist" and body["correction"] == "fdr_bh"
    assert body["metrics"]["smile"]["significant_seconds"] == REAL
    assert "west" not in response.text and "east" not in response.text

    page = client.get(f"/results/ads/{ad.id}/segments?var=region&metric=smile")
    assert page.status_code == 200
    assert 'data-significant="3,4,5,6"' in page.text
    assert "3\u20136 s, south is higher than north" in page.text
    assert "Benjamini-Hochberg" in page.text
    assert "west is" not in page.text and "east is" not in page.text


def test_compare_page_and_api_carry_the_tests(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    plain, lifted = seed_ads(db_session, world.study, 1, 0.3)
    login(client, settings, world.analyst)
    query = f"ad={plain.id}&ad={lifted.id}"
    response = client.get(f"/api/v1/compare/differences?{query}&metric=smile")
    assert response.status_code == 200, response.text
    assert response.json()["metrics"]["smile"]["significant_seconds"] == REAL
    mw = client.get(f"/api/v1/compare/differences?{query}&metric=smile&test=mannwhitney")
    assert mw.status_code == 200
    assert mw.json()["test"] == "mannwhitney"
    assert mw.json()["metrics"]["smile"]["pairs"][0]["seconds"][4]["ci_low"] is None

    page = client.get(f"/results/compare?{query}&metric=attention&metric=smile")
    assert page.status_code == 200
    assert 'data-differences="smile" data-significant="3,4,5,6"' in page.text
    assert 'data-differences="attention" data-significant=""' in page.text
    assert '"significant": {"attention": [], "smile": [3, 4, 5, 6]}' in page.text


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("&alpha=0.5", 422),
        ("&test=ztest", 422),
        ("&correction=none", 422),
        ("&metric=joy", 400),  # an emotion metric, the study is not in emotion mode
    ],
)
def test_bad_choices_are_refused(
    client: TestClient, settings: Settings, world: World, query: str, code: int
) -> None:
    login(client, settings, world.analyst)
    ads = f"ad={world.ad.id}&ad={world.other_ad.id}"
    assert client.get(f"/api/v1/compare/differences?{ads}{query}").status_code == code
    seg = client.get(f"/api/v1/ads/{world.ad.id}/segments/differences?segment=age{query}")
    assert seg.status_code == code


def test_segment_differences_refuse_what_cannot_be_tested(
    client: TestClient, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    base = f"/api/v1/ads/{world.ad.id}/segments/differences"
    assert client.get(base).status_code == 422  # the variable is required
    assert client.get(f"{base}?segment=shoe_size").status_code == 400
    # The world's ad has two age groups of 6: both under the minimum cell size, both hidden.
    hidden = client.get(f"{base}?segment=age")
    assert hidden.status_code == 400 and "fewer than two groups" in hidden.text


def test_outsiders_get_404(client: TestClient, settings: Settings, world: World) -> None:
    login(client, settings, world.outsider)
    ads = f"ad={world.ad.id}&ad={world.other_ad.id}"
    assert client.get(f"/api/v1/compare/differences?{ads}").status_code == 404
    seg = client.get(f"/api/v1/ads/{world.ad.id}/segments/differences?segment=age")
    assert seg.status_code == 404
