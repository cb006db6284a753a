"""CSV exports, the JSON API's content, the pages' content and the chart library asset."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.metrics import CURVE_METRICS, EXPRESSION_NAMES, EXPRESSIONS
from tests.support.auth import login
from tests.support.factories import make_ad
from tests.web.results.conftest import World
from tests.web.results.seed import add_panelist, flat
from web.clips.models import ClipSecond, PanelSession
from web.results.catalogue import au_text
from web.results.export import pseudonym
from web.settings import Settings


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_panelist_export_is_pseudonymous(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    response = client.get(f"/api/v1/ads/{world.ad.id}/panelists.csv")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    # Named by the ad's title, as the PNG and PDF reports are.
    assert 'filename="Sunny-day-panelists.csv"' in response.headers["content-disposition"]
    curves = client.get(f"/api/v1/ads/{world.ad.id}/curves.csv?segment=age")
    assert 'filename="Sunny-day-curves-by-age.csv"' in curves.headers["content-disposition"]
    rows = _csv(response.text)
    assert list(rows[0]) == [
        "panelist", "age", "second", "n_frames", "flag", "attention",
        *(f"{e.name} ({au_text(e)}{'' if e.measured else ', not measured'})" for e in EXPRESSIONS),
        "blinks", "face_present", "bystander",
    ]  # fmt: skip
    assert len(rows) == 12 * 8
    ids = {r["panelist"] for r in rows}
    assert len(ids) == 12 and all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)
    sessions = db_session.scalars(
        select(PanelSession).where(PanelSession.study_id == world.study.id)
    ).all()
    for panel_session in sessions:
        # Neither the respondent hash nor the session's public id appears in the export.
        assert panel_session.respondent_hash[:16] not in response.text
        assert str(panel_session.public_id) not in response.text
    expected = {pseudonym(settings, world.study.id, str(s.public_id)) for s in sessions}
    assert ids <= expected
    # Stable across downloads, so an analyst can join two exports of the same study.
    again = {r["panelist"] for r in _csv(client.get(response.url).text)}
    assert again == ids


def test_panelist_export_leaves_out_excluded_clips_and_neutralises_formulas(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    ad = make_ad(db_session, world.study, duration_s=2)
    for _ in range(10):
        add_panelist(db_session, ad, {"attention": flat(1.0, 2)}, {"src": "=HYPERLINK(1)"})
    add_panelist(
        db_session, ad, {"attention": flat(0.0, 2)}, {"src": "x"}, usable=False,
        exclusion_reason="no_face",
    )  # fmt: skip
    login(client, settings, world.analyst)
    rows = _csv(client.get(f"/api/v1/ads/{ad.id}/panelists.csv").text)
    assert len(rows) == 10 * 2
    assert {r["src"] for r in rows} == {"'=HYPERLINK(1)"}
    assert {r["attention"] for r in rows} == {"1.0"}


def test_panelist_export_has_each_seconds_quality_flag(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    """A second kept only as a mark (hidden tab, too few frames) says so, with no values."""
    ad = make_ad(db_session, world.study, duration_s=3)
    rows_of = [add_panelist(db_session, ad, {"attention": flat(1.0, 3)}) for _ in range(10)]
    marks = {0: None, 1: "hidden", 2: "sparse"}
    for second in db_session.scalars(
        select(ClipSecond).where(ClipSecond.clip_id == rows_of[0].clip.id)
    ):
        second.flag = marks[second.second]
        if second.flag:
            second.attention, second.n_frames = None, 2
    db_session.flush()
    login(client, settings, world.analyst)
    rows = _csv(client.get(f"/api/v1/ads/{ad.id}/panelists.csv").text)
    flagged = [(r["second"], r["flag"], r["attention"]) for r in rows if r["flag"]]
    assert flagged == [("1", "hidden", ""), ("2", "sparse", "")]
    assert sum(1 for r in rows if r["flag"] == "") == 10 * 3 - 2


# Each once slipped past the guard (issue 12): a CR started a new row holding =1+1, and a
# leading space, a full-width equals sign, a pipe or a LF were not guarded at all.
INJECTIONS = ["\r=1+1", " =1+1", "\uff1d1+1", "|calc", "\n=1+1", "\t@SUM(1)"]


def test_panelist_export_neutralises_every_formula_start_and_quotes_control_characters(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    ad = make_ad(db_session, world.study, duration_s=1)
    for value in INJECTIONS:
        for _ in range(10):  # a cell of 10 is shown as it is
            add_panelist(db_session, ad, {"attention": flat(1.0, 1)}, {"src": value})
    login(client, settings, world.analyst)
    text = client.get(f"/api/v1/ads/{ad.id}/panelists.csv").text
    rows = _csv(text)
    assert len(rows) == 10 * len(INJECTIONS)
    assert {r["src"] for r in rows} == {"'" + value for value in INJECTIONS}
    for value in INJECTIONS:  # quoted wherever a control character is, so no row splits
        if any(ord(c) < 32 for c in value):
            assert "\"'" + value + '"' in text


def test_aggregated_csv_matches_the_api(
    client: TestClient, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    api = client.get(f"/api/v1/ads/{world.ad.id}/curves").json()
    rows = _csv(client.get(f"/api/v1/ads/{world.ad.id}/curves.csv").text)
    assert len(rows) == len(CURVE_METRICS) * 8  # every metric x 8 seconds, everyone only
    smile = {int(r["second"]): r for r in rows if r["metric"] == "smile"}
    for second in range(8):
        assert float(smile[second]["mean"]) == pytest.approx(
            api["overall"]["curves"]["smile"]["mean"][second]
        )
        assert int(smile[second]["n"]) == 12
        assert float(smile[second]["ci95_low"]) <= float(smile[second]["mean"])


def test_api_content(client: TestClient, settings: Settings, world: World) -> None:
    login(client, settings, world.analyst)
    summary = client.get(f"/api/v1/ads/{world.ad.id}/summary").json()
    assert summary["n"] == 12 and summary["smile_peak_s"] == 5
    moments = client.get(f"/api/v1/ads/{world.ad.id}/key-moments").json()
    assert moments["moments"][0]["second"] == 5 and moments["moments"][0]["metric"] == "smile"
    progress = client.get(f"/api/v1/ads/{world.ad.id}/progress").json()
    assert progress["done"] == 12
    study = client.get(f"/api/v1/studies/{world.study.id}/summaries").json()
    assert [a["title"] for a in study["ads"]] == ["Sunny day", "Rainy day"]
    assert study["norms"]["n_ads"] == 2
    comparison = client.get(f"/api/v1/compare?ad={world.ad.id}&ad={world.other_ad.id}").json()
    assert comparison["axis"] == "seconds" and len(comparison["ads"]) == 2
    assert client.get(f"/api/v1/compare?ad={world.ad.id}").status_code == 400
    assert client.get(f"/api/v1/compare?ad={world.ad.id}&ad={world.ad.id}").status_code == 400


def test_openapi_documents_the_results_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/ads/{ad_id}/curves",
        "/api/v1/ads/{ad_id}/summary",
        "/api/v1/ads/{ad_id}/key-moments",
        "/api/v1/ads/{ad_id}/curves.csv",
        "/api/v1/ads/{ad_id}/panelists.csv",
        "/api/v1/studies/{study_id}/quality",
        "/api/v1/compare",
    ):
        assert path in paths
    assert client.get("/docs").status_code == 200
    # The summary's schema is documented field by field (emotions optional, absent when off).
    summary = client.get("/openapi.json").json()["components"]["schemas"]["AdSummaryOut"]
    assert {"attention_share", "smile_peak", "emotions"} <= set(summary["properties"])


def _chart_data(html: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)
    assert match, "the page carries its chart data"
    data: dict[str, object] = json.loads(match.group(1))
    return data


def test_ad_page(client: TestClient, settings: Settings, world: World) -> None:
    login(client, settings, world.analyst)
    page = client.get(f"/results/ads/{world.ad.id}")
    assert page.status_code == 200
    html = page.text
    assert "Sunny day" in html and f'src="/results/ads/{world.ad.id}/video"' in html
    assert "/vendor/uplot/uPlot.iife.min.js" in html
    assert 'role="slider"' in html and 'tabindex="0"' in html
    assert 'data-seek="5"' in html  # the smile key moment is a button
    data = _chart_data(html)
    assert data["metrics"] == ["attention", *EXPRESSION_NAMES]
    assert data["view"] == ["attention", "smile"]
    assert data["moments"][0]["second"] == 5  # type: ignore[index]
    assert f"/api/v1/ads/{world.ad.id}/panelists.csv" in html


def test_ad_page_says_why_there_is_no_key_moment(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    ad = make_ad(db_session, world.study, duration_s=6)
    furrow = [0.0, 0.0, 0.02, 0.0, 0.0, 0.0]  # a still face's wobble, not a reaction
    for _ in range(3):
        add_panelist(db_session, ad, {"attention": flat(0.9, 6), "brow_furrow": furrow})
    login(client, settings, world.analyst)
    html = " ".join(client.get(f"/results/ads/{ad.id}").text.split())
    assert "No key moments: no expression peak rises 0.10 above its median" in html
    assert "data-seek=" not in html.split('class="moments"')[1].split("</section>")[0]


def test_study_page(client: TestClient, settings: Settings, world: World) -> None:
    login(client, settings, world.analyst)
    html = client.get(f"/results/studies/{world.study.id}").text
    expected = ["Sunny day", "Rainy day", "Consent rate", "Too dark", "Bystander in view"]
    expected += ["Organisation norm", f'href="/studies/{world.study.id}"', "12 analysed"]
    for text in expected:
        assert text in html


def test_compare_page_time_normalises(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    long_ad = make_ad(db_session, world.study, duration_s=16, title="Long cut")
    add_panelist(db_session, long_ad, {"attention": flat(0.5, 16)})
    login(client, settings, world.analyst)
    html = client.get(f"/results/compare?ad={world.ad.id}&ad={long_ad.id}").text
    assert "differ in length" in html
    data = _chart_data(html)
    assert data["axis"] == "percent" and len(data["x"]) == 100  # type: ignore[arg-type]


def test_video_supports_range_requests(
    client: TestClient, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    response = client.get(f"/results/ads/{world.ad.id}/video", headers={"range": "bytes=0-99"})
    assert response.status_code == 206
    assert len(response.content) == 100
    assert response.headers["content-type"] == "video/mp4"
    # The other ad's file was never stored: a clear 404, not a crash.
    assert client.get(f"/results/ads/{world.other_ad.id}/video").status_code == 404


def test_chart_library_is_served_from_npm(client: TestClient) -> None:
    response = client.get("/vendor/uplot/uPlot.iife.min.js")
    assert response.status_code == 200, "uPlot missing: run scripts/setup (npm ci)"
    assert "uPlot" in response.text
    assert client.get("/vendor/uplot/uPlot.min.css").status_code == 200
    assert client.get("/vendor/uplot/package.json").status_code == 404
    assert client.get("/vendor/../pyproject.toml").status_code == 404


def test_preview_runs_are_in_neither_export(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    ad = make_ad(db_session, world.study, duration_s=2)
    for _ in range(10):
        add_panelist(db_session, ad, {"attention": flat(1.0, 2)}, {"src": "panel"})
    add_panelist(db_session, ad, {"attention": flat(0.0, 2)}, {"src": "designer"}, preview=True)
    login(client, settings, world.analyst)
    rows = _csv(client.get(f"/api/v1/ads/{ad.id}/panelists.csv").text)
    assert len(rows) == 10 * 2
    assert {(r["src"], r["attention"]) for r in rows} == {("panel", "1.0")}
    curves = _csv(client.get(f"/api/v1/ads/{ad.id}/curves.csv").text)
    attention = [r for r in curves if r["metric"] == "attention" and r["segment_var"] == ""]
    assert [(r["n"], r["mean"]) for r in attention] == [("10", "1.0"), ("10", "1.0")]
