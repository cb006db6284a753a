"""The curves' end labels on the ad and compare charts, measured in real headless Chromium: with
curves that end within a few percent of each other (and at the very top and bottom of the axis),
no two labels overlap and every label lies inside its chart's canvas, also on a narrow screen and
after an ad is hidden; on the narrow screen the page does not scroll sideways."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.e2e.test_results_browser import (  # noqa: F401  (fixtures)
    Seeded,
    _wait_ready,
    _write_ad_video,
    browser_page,
    seeded,
    server,
)
from tests.support.factories import make_ad
from tests.web.results.seed import add_panelist
from web.settings import Settings
from web.studies.models import Study

pytestmark = pytest.mark.browser

SECONDS = 12
# Where each metric of the crowded ad ends: four within 3% of the top of the axis, four within
# 3% of its bottom, so the labels must be spread apart and kept off both edges.
ENDINGS = {
    "attention": 1.0,
    "smile": 0.99,
    "brow_raise": 0.98,
    "cheek_raise": 0.97,
    "brow_furrow": 0.0,
    "jaw_drop": 0.01,
    "chin_raise": 0.02,
    "mouth_open": 0.03,
}
# Compared ads whose curves end within a few percent of each other; one title is far longer than
# any chart's margin could hold.
COMPARED_TITLES = [
    "Spring launch",
    "Spring launch (cut B)",
    "Summer sale — the long director's cut with the beach scene, the jingle and the end card",
    "Autumn",
    "Winter teaser 15s",
]


@dataclass
class Crowded:
    ad_id: int
    compared: list[int]


def _ending(value: float, seconds: int, wobble: float) -> list[float | None]:
    """A curve that wanders in the middle and lands on `value` at its last second."""
    middle = [min(1.0, max(0.0, 0.5 + wobble * ((s % 5) - 2))) for s in range(seconds - 1)]
    return [*middle, value]


@pytest.fixture
def crowded(
    seeded: tuple[Seeded, Settings],  # noqa: F811
    pg_engine: Engine,
) -> Iterator[Crowded]:
    """An ad whose curves end close together, and five ads (same length) whose attention and
    smile end within 4% of each other; removed with the seeded organisation."""
    data, settings = seeded
    with Session(pg_engine, expire_on_commit=False) as session:
        study = session.get(Study, data.study_id)
        assert study is not None
        ad = make_ad(session, study, duration_s=SECONDS, title="Crowded ending")
        ad.content_type = "video/webm"
        for i in range(4):
            curves = {m: _ending(v, SECONDS, 0.05 + 0.01 * i) for m, v in ENDINGS.items()}
            add_panelist(session, ad, curves)
        compared = []
        for k, title in enumerate(COMPARED_TITLES):
            other = make_ad(session, study, duration_s=SECONDS, title=title)
            for i in range(3):
                add_panelist(
                    session,
                    other,
                    {
                        "attention": _ending(0.80 + 0.01 * k, SECONDS, 0.04 * (i + 1)),
                        "smile": _ending(0.30 + 0.01 * k, SECONDS, 0.03 * (i + 1)),
                    },
                )
            compared.append(other.id)
        session.commit()
        _write_ad_video(settings.ads_dir / ad.storage_key, SECONDS)
        yield Crowded(ad.id, compared)


# Every visible curve label of a chart, its box and the box of the chart's canvas (CSS pixels).
LABEL_BOXES = """(selector) => {
  const chart = document.querySelector(selector);
  const canvas = chart.querySelector('canvas').getBoundingClientRect();
  const labels = [...chart.querySelectorAll('.curve-label')]
    .filter((el) => getComputedStyle(el).display !== 'none')
    .map((el) => {
      const r = el.getBoundingClientRect();
      return {text: el.textContent, full: el.title, left: r.left, top: r.top, right: r.right,
              bottom: r.bottom, clipped: el.scrollWidth > el.clientWidth + 1};
    });
  return {canvas: {left: canvas.left, top: canvas.top, right: canvas.right,
                   bottom: canvas.bottom}, labels};
}"""


def _check_labels(page: Any, selector: str, expected: list[str]) -> list[dict[str, Any]]:
    """Fail if a label is missing, two labels overlap or one reaches outside the canvas."""
    found = page.evaluate(LABEL_BOXES, selector)
    canvas, labels = found["canvas"], found["labels"]
    assert sorted(label["full"] for label in labels) == sorted(expected), (selector, labels)
    for label in labels:
        assert label["right"] - label["left"] > 5 and label["bottom"] - label["top"] > 5, label
        inside = (
            label["left"] >= canvas["left"]
            and label["right"] <= canvas["right"]
            and label["top"] >= canvas["top"]
            and label["bottom"] <= canvas["bottom"]
        )
        assert inside, (selector, label, canvas)
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            apart = (
                a["right"] <= b["left"]
                or b["right"] <= a["left"]
                or a["bottom"] <= b["top"]
                or b["bottom"] <= a["top"]
            )
            assert apart, (selector, a, b)
    return list(labels)


def _fits_the_screen(page: Any) -> None:
    """The page does not scroll sideways: a table of figures wider than the screen scrolls
    inside itself."""
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide on a {widths[1]} px screen"


def _shot(page: Any, name: str) -> None:
    """Screenshots for a human to look at, if CANDOR_E2E_ARTIFACTS is set."""
    target = os.environ.get("CANDOR_E2E_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / name), full_page=True)


def test_ad_chart_labels_of_curves_ending_together_neither_overlap_nor_leave_the_chart(
    browser_page: Any,  # noqa: F811
    server: str,  # noqa: F811
    crowded: Crowded,
) -> None:
    page = browser_page
    query = "&".join(f"metric={m}" for m in ENDINGS)
    page.goto(f"{server}/results/ads/{crowded.ad_id}?{query}")
    _wait_ready(page)
    labels = page.evaluate(
        "(ms) => ms.map((m) => JSON.parse(document.getElementById('chart-data').textContent)"
        ".labels[m])",
        list(ENDINGS),
    )
    _shot(page, "labels-ad-wide.png")
    drawn = _check_labels(page, "#chart", labels)
    # The four top labels stay in the order of their curves' endings, above the bottom four.
    by_name = {label["full"]: label for label in drawn}
    tops = [by_name[name]["top"] for name in labels]
    assert tops[:4] == sorted(tops[:4]) and max(tops[:4]) < min(tops[4:])
    _check_labels(page, "#n-chart", ["Panelists (n)"])

    # On a narrow screen, and with half the curves unpicked, still apart and inside.
    page.set_viewport_size({"width": 420, "height": 1400})
    page.wait_for_timeout(300)
    _shot(page, "labels-ad-narrow.png")
    _fits_the_screen(page)
    _check_labels(page, "#chart", labels)
    for name in labels[1:4]:
        page.get_by_role("checkbox", name=name, exact=True).uncheck()
    page.wait_for_function(
        "() => document.querySelector('[data-page]').dataset.view.split(',').length == 5"
    )
    _check_labels(page, "#chart", [labels[0], *labels[4:]])
    assert page.errors == []


def test_compare_chart_labels_of_ads_ending_together_neither_overlap_nor_leave_the_chart(
    browser_page: Any,  # noqa: F811
    server: str,  # noqa: F811
    crowded: Crowded,
) -> None:
    page = browser_page
    ads = "&".join(f"ad={i}" for i in crowded.compared)
    page.goto(f"{server}/results/compare?{ads}&metric=attention&metric=smile")
    _wait_ready(page)
    _shot(page, "labels-compare-wide.png")
    for chart in ("#chart-attention", "#chart-smile"):
        drawn = _check_labels(page, chart, COMPARED_TITLES)
        # The long title is shortened with an ellipsis, its whole text kept in the tooltip.
        long = next(label for label in drawn if label["full"] == COMPARED_TITLES[2])
        assert long["clipped"] and long["text"] == COMPARED_TITLES[2]
        assert all(not label["clipped"] for label in drawn if label is not long)

    # Hiding an ad takes its label away; the others are spread again.
    page.get_by_role("button", name="Autumn").click()
    rest = [t for t in COMPARED_TITLES if t != "Autumn"]
    _check_labels(page, "#chart-attention", rest)
    page.set_viewport_size({"width": 420, "height": 1400})
    page.wait_for_timeout(300)
    _shot(page, "labels-compare-narrow.png")
    _fits_the_screen(page)
    _check_labels(page, "#chart-smile", rest)
    assert page.errors == []
