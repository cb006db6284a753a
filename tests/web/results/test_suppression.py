"""Small groups stay hidden whichever way one asks: API, pages, CSV exports, subtraction."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.auth import login
from tests.support.factories import make_ad
from tests.web.results.conftest import World
from tests.web.results.seed import add_panelist, flat
from web.clips.aggregates import apply_clip
from web.clips.models import ClipSecond
from web.results.suppression import SUPPRESSED_VALUE, coarsen_passthrough, hidden_cells
from web.settings import Settings
from web.studies.models import Ad


class TestHiddenCells:
    def test_primary_only_when_the_remainder_is_large(self) -> None:
        # 12 + 11 shown, 3 hidden, 8 without a value: whole minus shown = 11 >= 10.
        assert hidden_cells(34, {"a": 12, "b": 11, "c": 3}, 10) == {"c"}

    def test_secondary_when_subtraction_would_reveal_the_small_group(self) -> None:
        # 25 = 12 + 10 + 3: whole minus the two big ones would be the 3. Hide the smaller big one.
        assert hidden_cells(25, {"a": 12, "b": 10, "c": 3}, 10) == {"b", "c"}

    def test_panelists_without_a_value_count_as_a_group_too(self) -> None:
        # Nobody below 10, but 4 panelists lack the variable: whole minus both segments is them.
        assert hidden_cells(34, {"a": 15, "b": 15}, 10) == {"a"}

    def test_everything_hidden_if_needed(self) -> None:
        assert hidden_cells(12, {"a": 11, "b": 1}, 10) == {"a", "b"}

    def test_nothing_hidden_when_all_large_and_complete(self) -> None:
        assert hidden_cells(30, {"a": 10, "b": 20}, 10) == set()

    def test_bad_minimum(self) -> None:
        with pytest.raises(ValueError, match="min_cell_size"):
            hidden_cells(1, {}, 0)


class TestCoarsenPassthrough:
    def test_rare_values_then_rare_combinations(self) -> None:
        rows = (
            [{"age": "18-24", "country": "FR"}] * 10
            + [{"age": "18-24", "country": "DE"}] * 3  # DE is rare: suppressed
            + [{"age": "65+", "country": "FR"}] * 2  # 65+ is rare: suppressed
            + [{"age": "25-34", "country": "FR"}] * 8
            + [{"age": "25-34", "country": "BE"}] * 12
        )
        out = coarsen_passthrough(rows, 10)
        combos = {tuple(r.values()) for r in out}
        # 25-34/FR (8 rows) is a rare combination of common values: fully suppressed.
        assert (SUPPRESSED_VALUE, SUPPRESSED_VALUE) in combos
        assert ("18-24", "FR") in combos and ("25-34", "BE") in combos
        assert not any("65+" in r.values() or "DE" in r.values() for r in out)
        for combo in combos:
            held = sum(1 for r in out if tuple(r.values()) == combo)
            assert held >= 10 or combo == (SUPPRESSED_VALUE, SUPPRESSED_VALUE)

    def test_missing_values_count_as_values(self) -> None:
        rows = [{"age": "18-24"}] * 10 + [{}]
        out = coarsen_passthrough(rows, 10)
        assert out[-1] == {"age": SUPPRESSED_VALUE}


def _seed(session: Session, ad: Ad, groups: dict[str, int]) -> dict[str, list[int]]:
    """Panelists per age group; returns their clip ids per group."""
    clips: dict[str, list[int]] = {}
    for value, count in groups.items():
        for _ in range(count):
            rows = add_panelist(
                session, ad, {"attention": flat(0.9, 4), "smile": flat(0.3, 4)}, {"age": value}
            )
            clips.setdefault(value, []).append(rows.clip.id)
    return clips


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def small_group_ad(db_session: Session, world: World) -> Ad:
    """12 aged 18-24, 10 aged 25-34, 3 aged 65+: 65+ is too small and 25-34 would reveal it."""
    ad = make_ad(db_session, world.study, duration_s=4, title="Small groups")
    _seed(db_session, ad, {"18-24": 12, "25-34": 10, "65+": 3})
    return ad


def test_api_hides_small_and_complementary_groups(
    client: TestClient, settings: Settings, world: World, small_group_ad: Ad
) -> None:
    login(client, settings, world.analyst)
    body = client.get(f"/api/v1/ads/{small_group_ad.id}/curves?segment=age").json()
    assert [s["segment_value"] for s in body["segments"]] == ["18-24"]
    assert body["hidden_segments"] == 2
    assert "fewer than 10" in body["note"]
    assert "65+" not in str(body) and "25-34" not in str(body)
    assert body["overall"]["n"] == 25


def test_csv_export_hides_them_too(
    client: TestClient, settings: Settings, world: World, small_group_ad: Ad
) -> None:
    login(client, settings, world.analyst)
    response = client.get(f"/api/v1/ads/{small_group_ad.id}/curves.csv?segment=age")
    assert response.headers["content-type"].startswith("text/csv")
    rows = _csv(response.text)
    assert {r["segment_value"] for r in rows} == {"", "18-24"}
    assert "65+" not in response.text and "25-34" not in response.text
    everyone_smile_0 = next(
        r
        for r in rows
        if r["segment_value"] == "" and r["metric"] == "smile" and r["second"] == "0"
    )
    assert everyone_smile_0["n"] == "25"
    assert float(everyone_smile_0["mean"]) == pytest.approx(0.3)


def test_pages_hide_them(
    client: TestClient, settings: Settings, world: World, small_group_ad: Ad
) -> None:
    login(client, settings, world.analyst)
    page = client.get(f"/results/ads/{small_group_ad.id}/segments?var=age&metric=smile")
    assert page.status_code == 200
    assert "18-24" in page.text
    assert "65+" not in page.text and "25-34" not in page.text
    assert "2 group(s)" in page.text


def test_per_panelist_export_coarsens_small_groups(
    client: TestClient, settings: Settings, world: World, small_group_ad: Ad
) -> None:
    login(client, settings, world.analyst)
    response = client.get(f"/api/v1/ads/{small_group_ad.id}/panelists.csv")
    rows = _csv(response.text)
    assert len(rows) == 25 * 4
    assert {r["age"] for r in rows} == {"18-24", "25-34", SUPPRESSED_VALUE}
    assert "65+" not in response.text


def test_per_second_cells_below_the_minimum_are_blank(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    ad = make_ad(db_session, world.study, duration_s=4, title="Drop-outs")
    clips = _seed(db_session, ad, {"18-24": 12, "25-34": 12})
    # Three of 18-24 lose their data in second 2 (as a re-analysis would): 9 left there.
    for clip_id in clips["18-24"][:3]:
        apply_clip(db_session, clip_id, -1)
        row = db_session.scalars(
            select(ClipSecond).where(ClipSecond.clip_id == clip_id, ClipSecond.second == 2)
        ).one()
        row.attention = row.smile = None
        db_session.flush()
        apply_clip(db_session, clip_id, +1)

    login(client, settings, world.analyst)
    body = client.get(f"/api/v1/ads/{ad.id}/curves?segment=age").json()
    assert body["overall"]["curves"]["attention"]["n"][2] == 21
    assert [s["segment_value"] for s in body["segments"]] == ["18-24", "25-34"]
    for segment in body["segments"]:
        attention = segment["curves"]["attention"]
        # 18-24 has 9 at second 2; 25-34 has 12 but 21 - 12 would give the 9 back.
        assert attention["n"][2] is None and attention["mean"][2] is None
        assert attention["ci_low"][2] is None
        assert attention["n"][1] == 12 and attention["mean"][1] == pytest.approx(0.9)
    # Other metrics follow their own n: smile lost the same 3 panelists at second 2.
    assert all(s["curves"]["smile"]["n"][2] is None for s in body["segments"])
    # The CSV says the same.
    rows = _csv(client.get(f"/api/v1/ads/{ad.id}/curves.csv?segment=age").text)
    second_2 = [r for r in rows if r["segment_value"] and r["second"] == "2"]
    assert second_2 and all(r["n"] == "" and r["mean"] == "" for r in second_2)


def test_unknown_variable_is_a_clear_400(
    client: TestClient, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    response = client.get(f"/api/v1/ads/{world.ad.id}/curves?segment=income")
    assert response.status_code == 400
    assert "income" in response.json()["detail"] and "age" in response.json()["detail"]
    assert client.get(f"/api/v1/ads/{world.ad.id}/curves.csv?segment=income").status_code == 400


def test_study_minimum_can_be_stricter(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    # The world's ad has 6 + 6 by age: hidden at 10, but also the study may ask for more.
    world.study.min_cell_size = 7
    db_session.flush()
    login(client, settings, world.analyst)
    body = client.get(f"/api/v1/ads/{world.ad.id}/curves?segment=age").json()
    assert body["min_cell_size"] == 10  # the installation's 10 is stricter than the study's 7
    assert body["segments"] == []
    settings.min_cell_size = 5
    body = client.get(f"/api/v1/ads/{world.ad.id}/curves?segment=age").json()
    assert body["min_cell_size"] == 7
    assert body["segments"] == []
    world.study.min_cell_size = 6
    db_session.flush()
    body = client.get(f"/api/v1/ads/{world.ad.id}/curves?segment=age").json()
    assert [s["segment_value"] for s in body["segments"]] == ["18-24", "25-34"]
