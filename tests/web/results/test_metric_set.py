"""Every metric through the read side: emotion metrics nowhere for a study not in emotion mode
(API, CSV, pages), present with CI and n and linked to their derivation when it is; the metric
picker's view in the URL; key moments, compare and segments on any metric."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from candor.metrics import EMOTION_METRICS, EMOTIONS, EXPRESSIONS
from tests.support.auth import login
from tests.support.factories import make_ad, make_study
from tests.web.results.conftest import World
from tests.web.results.seed import add_panelist, flat
from web.results.catalogue import au_text
from web.settings import Settings
from web.studies.models import Ad, Study

SECONDS = 6
EMOTION_WORDS = re.compile(
    r"\b(" + "|".join(EMOTION_METRICS) + r")\b|/help/emotions", re.IGNORECASE
)


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _chart_data(html: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)
    assert match
    data: dict[str, object] = json.loads(match.group(1))
    return data


@dataclass
class EmotionWorld:
    study: Study
    ad: Ad
    other_ad: Ad


def _emotion_curves(i: int) -> dict[str, list[float | None]]:
    """Joy peaks at second 3 for everyone; valence dips at 1 and rises at 3."""
    return {
        "attention": flat(0.9, SECONDS),
        "smile": [0.1, 0.1, 0.1, 0.6, 0.1, 0.1],
        "lip_press": flat(0.05 + 0.01 * (i % 3), SECONDS),
        "joy": [0.05, 0.05, 0.05, 0.7 + 0.01 * (i % 4), 0.05, 0.05],
        "sadness": flat(0.1, SECONDS),
        "valence": [0.0, -0.4 - 0.01 * (i % 2), 0.0, 0.6, 0.1, 0.0],
        "engagement": flat(0.3 + 0.02 * (i % 5), SECONDS),
    }


@pytest.fixture
def emotion_world(db_session: Session, world: World) -> EmotionWorld:
    """A second study of the same organisation, in emotion mode, with 12 panelists per ad."""
    study = make_study(db_session, world.organisation, name="Feelings", emotion_mode=True)
    ad = make_ad(db_session, study, duration_s=SECONDS, title="Warm ad")
    other_ad = make_ad(db_session, study, duration_s=SECONDS, title="Cold ad")
    for i in range(12):
        add_panelist(db_session, ad, _emotion_curves(i), {"age": "18-24" if i < 6 else "25-34"})
        add_panelist(db_session, other_ad, _emotion_curves(i + 1))
    return EmotionWorld(study, ad, other_ad)


def test_emotion_mode_off_shows_no_emotion_anywhere(
    client: TestClient, settings: Settings, world: World, emotion_world: EmotionWorld
) -> None:
    # The organisation has an emotion-mode study too: its norms must not leak into this one.
    login(client, settings, world.analyst)
    ad = world.ad.id
    curves = client.get(f"/api/v1/ads/{ad}/curves").json()
    assert not set(curves["overall"]["curves"]) & set(EMOTION_METRICS)
    assert {m["group"] for m in curves["metrics"]} == {"attention", "expressions", "quality"}
    assert not EMOTION_WORDS.search(json.dumps(curves))
    for path in (f"/api/v1/ads/{ad}/summary", f"/api/v1/ads/{ad}/key-moments",
                 f"/api/v1/studies/{world.study.id}/summaries",
                 f"/api/v1/compare?ad={ad}&ad={world.other_ad.id}"):  # fmt: skip
        body = client.get(path)
        assert body.status_code == 200, path
        assert not EMOTION_WORDS.search(body.text), path
    assert "emotions" not in client.get(f"/api/v1/ads/{ad}/summary").json()
    for path in (f"/api/v1/ads/{ad}/curves.csv", f"/api/v1/ads/{ad}/panelists.csv"):
        assert not EMOTION_WORDS.search(client.get(path).text), path
    for path in (f"/results/ads/{ad}", f"/results/studies/{world.study.id}",
                 f"/results/compare?ad={ad}&ad={world.other_ad.id}",
                 f"/results/ads/{ad}/segments?var=age"):  # fmt: skip
        page = client.get(path)
        assert page.status_code == 200, path
        assert not EMOTION_WORDS.search(page.text), path
    # Asking the API for an emotion metric of such a study is a clear 400, not an empty curve.
    for path in (f"/api/v1/ads/{ad}/key-moments?metric=joy",
                 f"/api/v1/compare?ad={ad}&ad={world.other_ad.id}&metric=joy"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 400, path
    # A page opened from a shared address leaves it out with a note that doesn't name it.
    for path in (f"/results/ads/{ad}?metric=valence&metric=smile",
                 f"/results/compare?ad={ad}&ad={world.other_ad.id}&metric=joy",
                 f"/results/ads/{ad}/segments?var=age&metric=joy"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'data-unavailable="1"' in response.text, path
        assert not EMOTION_WORDS.search(response.text), path
    assert "unknown metric" in client.get(f"/api/v1/ads/{ad}/key-moments?metric=joy").text


def test_emotion_mode_on_carries_every_emotion_with_ci_and_n(
    client: TestClient, settings: Settings, world: World, emotion_world: EmotionWorld
) -> None:
    settings.min_norm_ads = 2  # the organisation has 4 ads with results
    login(client, settings, world.analyst)
    ad = emotion_world.ad.id
    curves = client.get(f"/api/v1/ads/{ad}/curves").json()
    for metric in EMOTION_METRICS:
        assert metric in curves["overall"]["curves"], metric
    joy = curves["overall"]["curves"]["joy"]
    assert joy["n"][3] == 12
    assert joy["ci_low"][3] < joy["mean"][3] < joy["ci_high"][3]
    assert joy["mean"][3] == pytest.approx(0.7 + sum(0.01 * (i % 4) for i in range(12)) / 12)
    # Never-computed emotions are empty, not zero.
    assert curves["overall"]["curves"]["fear"]["mean"] == [None] * SECONDS
    info = {m["name"]: m for m in curves["metrics"]}
    assert info["joy"]["derivation"] == "/help/emotions#joy"
    assert info["valence"]["min"] == -1.0 and info["engagement"]["group"] == "engagement"
    assert info["smile"]["au"] == "AU12" and info["smile"]["derivation"] is None
    assert curves["overall"]["curves"]["valence"]["ci_low"][1] >= -1.0

    summary = client.get(f"/api/v1/ads/{ad}/summary").json()["emotions"]
    assert summary["valence_low_s"] == 1 and summary["valence_high_s"] == 3
    assert summary["valence_high"] == pytest.approx(0.6)
    assert summary["engagement"] == pytest.approx(sum(0.3 + 0.02 * (i % 5) for i in range(12)) / 12)
    assert summary["peaks"][0]["metric"] == "joy" and summary["peaks"][0]["second"] == 3
    assert summary["peaks"][0]["derivation"] == "/help/emotions#joy"

    moments = client.get(f"/api/v1/ads/{ad}/key-moments").json()
    assert set(EMOTIONS) <= set(moments["metrics"]) and "valence" not in moments["metrics"]
    assert (moments["moments"][0]["second"], moments["moments"][0]["metric"]) == (3, "joy")
    on_valence = client.get(f"/api/v1/ads/{ad}/key-moments?metric=valence").json()
    assert [(m["second"], m["metric"]) for m in on_valence["moments"]] == [(3, "valence")]

    norms = client.get(f"/api/v1/studies/{emotion_world.study.id}/summaries").json()["norms"]
    assert norms["figures"]["valence"]["n"] == 2 and norms["figures"]["engagement"]["n"] == 2

    rows = _csv(client.get(f"/api/v1/ads/{ad}/curves.csv").text)
    joy_rows = {int(r["second"]): r for r in rows if r["metric"] == "joy"}
    assert joy_rows[3]["n"] == "12" and float(joy_rows[3]["ci95_low"]) < float(joy_rows[3]["mean"])
    assert joy_rows[3]["derivation"] == f"{settings.base_url}/help/emotions#joy"
    smile = next(r for r in rows if r["metric"] == "smile")
    assert (smile["label"], smile["au"], smile["derivation"]) == ("Smile", "AU12", "")

    panelists = client.get(f"/api/v1/ads/{ad}/panelists.csv").text
    header = next(csv.reader(io.StringIO(panelists)))
    # Short headers: no address in a column name (the derivation is in the aggregated CSV).
    assert "joy (inferred)" in header and not any("http" in h for h in header)
    table = _csv(panelists)
    assert len(table) == 12 * SECONDS
    assert {r["joy (inferred)"] for r in table if r["second"] == "0"} == {"0.05"}


def test_exports_name_each_expressions_au(
    client: TestClient, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    header = next(
        csv.reader(io.StringIO(client.get(f"/api/v1/ads/{world.ad.id}/panelists.csv").text))
    )
    for expression in EXPRESSIONS:  # one no model here measures says so (test_not_measured)
        marked = "" if expression.measured else ", not measured"
        assert f"{expression.name} ({au_text(expression)}{marked})" in header
    assert header[header.index("smile (AU12)") - 1] == "attention"
    rows = _csv(client.get(f"/api/v1/ads/{world.ad.id}/curves.csv").text)
    aus = {r["metric"]: r["au"] for r in rows}
    assert aus["lip_press"] == "AU24" and aus["smirk"] == "AU12, one side" and aus["blinks"] == ""


def test_the_picker_view_lives_in_the_url(
    client: TestClient, settings: Settings, world: World, emotion_world: EmotionWorld
) -> None:
    login(client, settings, world.analyst)
    plain = client.get(f"/results/ads/{world.ad.id}").text
    data = _chart_data(plain)
    assert data["view"] == ["attention", "smile"]
    assert len(data["metrics"]) == 21  # type: ignore[arg-type]
    assert 'name="metric" value="smile" checked' in plain
    assert 'Smile <span class="au">(AU12)</span>' in plain and ">Emotions<" not in plain

    chosen = client.get(f"/results/ads/{world.ad.id}?metric=lip_press&metric=attention").text
    assert _chart_data(chosen)["view"] == ["lip_press", "attention"]
    assert 'name="metric" value="smile" >' in chosen
    # A view shared from another ad: what this ad lacks is left out, with a note; the rest stays.
    shared = client.get(f"/results/ads/{world.ad.id}?metric=nonsense&metric=joy&metric=lip_press")
    assert shared.status_code == 200 and 'data-unavailable="2"' in shared.text
    assert "This address asked for 2 curves" in shared.text
    assert _chart_data(shared.text)["view"] == ["lip_press"]
    only_missing = client.get(f"/results/ads/{world.ad.id}?metric=joy").text
    assert _chart_data(only_missing)["view"] == ["attention", "smile"]  # the default view
    assert "data-unavailable" not in chosen
    # Smirk's label holds one action unit, not nested parentheses.
    assert 'Smirk <span class="au">(AU12, one side)</span>' in plain and "((" not in plain

    emotional = client.get(f"/results/ads/{emotion_world.ad.id}").text
    assert _chart_data(emotional)["view"] == ["attention", "smile", "valence"]
    for group in ("Attention", "Expressions", "Emotions", "Engagement"):
        assert f"<legend>{group}</legend>" in emotional
    for metric in EMOTION_METRICS:  # every emotion label links to its derivation
        assert f'href="/help/emotions#{metric}"' in emotional, metric
    assert "Valence" in emotional and "Top" in emotional


def test_compare_and_segments_take_any_metric(
    client: TestClient, settings: Settings, world: World, emotion_world: EmotionWorld
) -> None:
    settings.min_norm_ads = 2  # the organisation has 4 ads with results
    login(client, settings, world.analyst)
    pair = f"ad={emotion_world.ad.id}&ad={emotion_world.other_ad.id}"
    body = client.get(f"/api/v1/compare?{pair}&metric=valence&metric=lip_press").json()
    assert [m["name"] for m in body["metrics"]] == ["valence", "lip_press"]
    assert set(body["ads"][0]["curves"]) == {"valence", "lip_press"}
    assert body["norms_band"]["valence"]["n_ads"] == 2
    page = client.get(f"/results/compare?{pair}&metric=joy").text
    assert 'id="chart-joy"' in page and 'id="chart-smile"' not in page
    assert 'href="/help/emotions#joy"' in page
    # An emotion-mode ad against one that is not: no emotion metric to compare on.
    mixed = f"ad={emotion_world.ad.id}&ad={world.ad.id}"
    assert client.get(f"/api/v1/compare?{mixed}&metric=joy").status_code == 400
    assert client.get(f"/api/v1/compare?{mixed}&metric=chin_raise").status_code == 200

    segments = client.get(f"/api/v1/ads/{emotion_world.ad.id}/curves?segment=age").json()
    # Two groups of 6 are below the minimum cell size of 10: hidden, emotions included.
    assert segments["segments"] == [] and segments["hidden_segments"] == 2
    page = client.get(f"/results/ads/{emotion_world.ad.id}/segments?var=age&metric=joy")
    assert page.status_code == 200 and 'href="/help/emotions#joy"' in page.text


def test_emotion_derivations_are_served_with_an_anchor_each(client: TestClient) -> None:
    page = client.get("/help/emotions")
    assert page.status_code == 200
    for metric in EMOTION_METRICS:
        assert f'<h2 id="{metric}">{metric}</h2>' in page.text, metric
    assert client.get("/help/secrets").status_code == 404
    assert client.get("/help/..%2Fpyproject").status_code == 404


def test_the_export_columns_are_explained_on_a_served_page(
    client: TestClient, settings: Settings, world: World
) -> None:
    login(client, settings, world.analyst)
    assert (
        "/help/results#exports-and-their-headers" in client.get(f"/results/ads/{world.ad.id}").text
    )
    page = client.get("/help/results")
    assert page.status_code == 200
    assert '<h2 id="exports-and-their-headers">' in page.text
    assert "<code>flag</code> (the second's quality mark" in page.text


def test_the_help_pages_link_each_other_not_repository_files(client: TestClient) -> None:
    emotions = client.get("/help/emotions").text
    assert 'href="/help/signals#known-limits"' in emotions
    signals = client.get("/help/signals")
    assert signals.status_code == 200 and '<h2 id="known-limits">' in signals.text
