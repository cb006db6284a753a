"""An expression no model here measures (candor.metrics.NOT_MEASURED) is said to be "not
measured" by every reader, and never drawn, summarised or exported as a flat zero, even where an
older analysis left values for it in the store.

Generic over the set: the tests use the real one, and stand one expression in for it if the real
one is ever empty, so they keep checking the readers.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

import candor.metrics
from candor.metrics import EXPRESSION_BY_NAME, NOT_MEASURED
from tests.support.auth import login
from tests.web.results.conftest import World
from tests.web.results.seed import add_panelist, flat
from web.clips.models import AdAggregate
from web.reports import content, render
from web.results import catalogue, maths, service
from web.settings import Settings

SECONDS = 8
HTML = {"accept": "text/html"}


def _patch_set(monkeypatch: pytest.MonkeyPatch, names: frozenset[str]) -> None:
    """Every reader of the set sees `names` (each module holds its own binding)."""
    for module in (candor.metrics, catalogue, maths, service):
        monkeypatch.setattr(module, "NOT_MEASURED", names)


@pytest.fixture
def unmeasured(monkeypatch: pytest.MonkeyPatch) -> tuple[str, ...]:
    """The expressions not measured: the real set, or one stand-in if it is ever empty."""
    names = NOT_MEASURED or frozenset({"lip_suck"})
    _patch_set(monkeypatch, names)
    return tuple(sorted(names))


@pytest.fixture
def stale(db_session: Session, world: World, unmeasured: tuple[str, ...]) -> World:
    """Two panelists of the world's ad analysed before the expressions were marked: their rows
    and aggregates hold a near-flat zero for each, as the dead blendshape gave. The one
    measured expression they carry (smile) makes no key moment of its own."""
    for i in range(2):
        curves = {"attention": flat(0.9, SECONDS), "smile": flat(0.1, SECONDS)}
        # A peak at 3 s high enough to be a key moment, were it read.
        curves.update({m: [0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.01 * i] for m in unmeasured})
        add_panelist(db_session, world.ad, curves, {"age": "18-24"})
    return world


def test_the_curves_api_marks_it_not_measured_with_null_values(
    client: TestClient, settings: Settings, stale: World, unmeasured: tuple[str, ...]
) -> None:
    login(client, settings, stale.analyst)
    body = client.get(f"/api/v1/ads/{stale.ad.id}/curves").json()
    info = {m["name"]: m for m in body["metrics"]}
    for name in unmeasured:
        assert info[name]["measured"] is False, name
        curve = body["overall"]["curves"][name]
        assert curve["measured"] is False
        for key in ("n", "mean", "ci_low", "ci_high"):
            assert curve[key] == [None] * SECONDS, (name, key)
    assert info["smile"]["measured"] is True and body["overall"]["curves"]["smile"]["measured"]
    assert body["overall"]["curves"]["smile"]["mean"][0] is not None


def test_summary_key_moments_and_norms_leave_it_out(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    stale: World,
    unmeasured: tuple[str, ...],
) -> None:
    login(client, settings, stale.analyst)
    moments = client.get(f"/api/v1/ads/{stale.ad.id}/key-moments").json()
    assert moments["metrics"] and not set(unmeasured) & set(moments["metrics"])
    assert not [m for m in moments["moments"] if m["metric"] in unmeasured]
    asked = client.get(f"/api/v1/ads/{stale.ad.id}/key-moments?metric={unmeasured[0]}")
    assert asked.status_code == 400 and "not measured" in asked.json()["detail"]

    # Expressiveness is over the measured expressions only, by hand from the stored sums.
    pooled: dict[str, list[float]] = {}
    for row in db_session.scalars(
        select(AdAggregate).where(AdAggregate.ad_id == stale.ad.id, AdAggregate.segment_var == "")
    ):
        if row.metric in EXPRESSION_BY_NAME and row.metric not in unmeasured:
            pooled.setdefault(row.metric, [0.0, 0.0])
            pooled[row.metric][0] += row.n
            pooled[row.metric][1] += row.sum
    expected = sum(total / n for n, total in pooled.values()) / len(pooled)
    summary = client.get(f"/api/v1/ads/{stale.ad.id}/summary").json()
    assert summary["expressiveness"] == pytest.approx(expected)

    # Compared, it is there as not measured with empty curves, and has no norms band.
    settings.min_norm_ads = 1
    pair = f"ad={stale.ad.id}&ad={stale.other_ad.id}"
    body = client.get(f"/api/v1/compare?{pair}&metric={unmeasured[0]}&metric=smile").json()
    assert {m["name"]: m["measured"] for m in body["metrics"]} == {
        unmeasured[0]: False,
        "smile": True,
    }
    assert set(body["norms_band"]) == {"smile"}
    for ad in body["ads"]:
        assert set(ad["curves"][unmeasured[0]]["mean"]) == {None}


def test_expressiveness_ignores_cells_of_an_unmeasured_expression(
    unmeasured: tuple[str, ...],
) -> None:
    """Whatever cells reach the maths (an older analysis filled them), they are not averaged."""
    cells = {"smile": {0: (2, 0.8, 0.4)}, **{m: {0: (2, 0.0, 0.0)} for m in unmeasured}}
    assert maths.summarise(cells).expressiveness == pytest.approx(0.4)


def _picker_entry(page: str, name: str) -> str:
    """The picker's entry of one metric: its label, or the wrapper of one not measured."""
    pattern = (
        rf'<span class="pick not-measured"[^>]*><label><input[^>]*value="{name}"[^>]*>'
        r".*?</a></span>"
        rf'|<label class="pick"><input[^>]*value="{name}"[^>]*>.*?</label>'
    )
    match = re.search(pattern, page, re.S)
    assert match, name
    return match.group(0)


def test_the_picker_shows_it_disabled_and_a_url_asking_for_it_gets_a_note(
    client: TestClient, settings: Settings, stale: World, unmeasured: tuple[str, ...]
) -> None:
    login(client, settings, stale.analyst)
    page = client.get(f"/results/ads/{stale.ad.id}", headers=HTML).text
    for name in unmeasured:
        expression = EXPRESSION_BY_NAME[name]
        label = _picker_entry(page, name)
        assert " disabled" in label and "checked" not in label
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", label)).split())
        assert f"{expression.label} ({expression.au}) \u2014 not measured" in text
        assert "no model here measures it on real faces" in label  # the tooltip
        assert 'href="/help/signals"' in label
    assert 'id="not-measured-note"' not in page
    assert _picker_entry(page, "smile").count("disabled") == 0

    asked = "&".join(f"metric={m}" for m in unmeasured)
    only = client.get(f"/results/ads/{stale.ad.id}?{asked}", headers=HTML)
    assert only.status_code == 200
    data = _chart_data(only.text)
    assert data["view"] == list(catalogue.default_view(False))  # nothing drawable: the default
    note = re.search(
        r'<p class="notice" role="note" id="not-measured-note">(.*?)</p>', only.text, re.S
    )
    assert note and "not measured and not drawn" in note.group(1)
    assert EXPRESSION_BY_NAME[unmeasured[0]].label in note.group(1)
    mixed = client.get(f"/results/ads/{stale.ad.id}?{asked}&metric=brow_raise", headers=HTML)
    assert _chart_data(mixed.text)["view"] == ["brow_raise"]
    assert 'id="not-measured-note"' in mixed.text

    segments = client.get(
        f"/results/ads/{stale.ad.id}/segments?var=age&metric={unmeasured[0]}", headers=HTML
    )
    assert segments.status_code == 200 and 'id="not-measured-note"' in segments.text
    assert _chart_data(segments.text)["metric"] == "attention"
    assert f'<option value="{unmeasured[0]}" disabled>' in segments.text

    pair = f"ad={stale.ad.id}&ad={stale.other_ad.id}"
    compared = client.get(f"/results/compare?{pair}&{asked}&metric=smile", headers=HTML).text
    assert 'id="not-measured-note"' in compared and f'id="chart-{unmeasured[0]}"' not in compared

    help_page = client.get("/help/signals")
    assert help_page.status_code == 200 and "Signals" in help_page.text


def test_default_views_never_list_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Were smile ever marked not measured, no default view would still draw it."""
    _patch_set(monkeypatch, frozenset({"smile"}))
    for emotions in (False, True):
        view = catalogue.default_view(emotions)
        assert view and "smile" not in view


def _chart_data(page: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    assert match
    data: dict[str, object] = json.loads(match.group(1))
    return data


def test_exports_say_not_measured_and_leave_its_cells_empty(
    client: TestClient, settings: Settings, stale: World, unmeasured: tuple[str, ...]
) -> None:
    login(client, settings, stale.analyst)
    table = list(
        csv.reader(io.StringIO(client.get(f"/api/v1/ads/{stale.ad.id}/panelists.csv").text))
    )
    header, rows = table[0], table[1:]
    for name in unmeasured:
        column = f"{name} ({EXPRESSION_BY_NAME[name].au}, not measured)"
        assert column in header
        index = header.index(column)
        # The stale panelists stored values for it; none is exported.
        assert {row[index] for row in rows} == {""}, name
    smile = header.index("smile (AU12)")
    assert all(row[smile] != "" for row in rows)

    long = list(
        csv.DictReader(io.StringIO(client.get(f"/api/v1/ads/{stale.ad.id}/curves.csv").text))
    )
    for name in unmeasured:
        mine = [r for r in long if r["metric"] == name]
        assert len(mine) == SECONDS
        assert {r["label"] for r in mine} == {f"{EXPRESSION_BY_NAME[name].label} (not measured)"}
        assert {(r["n"], r["mean"], r["ci95_low"], r["ci95_high"]) for r in mine} == {
            ("", "", "", "")
        }


def test_the_openapi_schema_describes_measured(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "not measured" in schemas["MetricInfo"]["properties"]["measured"][
        "description"
    ].lower() or (
        "no model here measures" in schemas["MetricInfo"]["properties"]["measured"]["description"]
    )
    assert "null" in schemas["MetricCurve"]["properties"]["measured"]["description"]


def test_reports_list_it_as_not_measured_and_draw_only_what_is_measured(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    stale: World,
    unmeasured: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    login(client, settings, stale.analyst)
    pdf = client.get(f"/results/studies/{stale.study.id}/report.pdf").content
    first = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "Not measured" in first
    for name in unmeasured:
        assert render.label(name) in first
    report = content.ad_report(db_session, settings, stale.study, stale.ad)
    assert report.not_measured == unmeasured
    assert not [m for m in report.moments.moments if m.metric in unmeasured]
    # A base metric marked not measured is not drawn.
    _patch_set(monkeypatch, frozenset({*unmeasured, "smile"}))
    report = content.ad_report(db_session, settings, stale.study, stale.ad)
    assert report.metrics == ("attention",) and "smile" in report.not_measured
    assert render.ad_png(report, stale.study.name)[:4] == b"\x89PNG"
