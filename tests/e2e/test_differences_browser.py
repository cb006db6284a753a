"""The difference tests and the ad's pictures in real headless Chromium: the compare chart
hatches exactly the seconds the API flags (and says so under it), and the ad page shows the
ad's own pictures under its chart, each seeking the video to its second."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_results_browser import (  # noqa: F401  (fixtures)
    AD_SECONDS,
    Seeded,
    _session_of,
    _wait_ready,
    browser_page,
    seeded,
    server,
)
from web.accounts.auth import COOKIE_NAME, login_cookie_value
from web.settings import Settings

pytestmark = pytest.mark.browser

# Columns of the chart's canvas holding the hatch's amber bar at the plot's foot, as x spans.
HATCHED_COLUMNS = """(selector) => {
  const canvas = document.querySelector(selector + ' canvas');
  const ctx = canvas.getContext('2d');
  const {data, width, height} = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const columns = [];
  for (let x = 0; x < width; x++) {
    let n = 0;
    for (let y = 0; y < height; y++) {
      const i = (y * width + x) * 4;
      if (Math.abs(data[i] - 160) < 12 && Math.abs(data[i + 1] - 100) < 12 && data[i + 2] < 20
          && data[i + 3] > 200) n++;
    }
    if (n >= 3) columns.push(x);
  }
  return {columns, width};
}"""


def test_compare_hatches_the_seconds_the_api_flags(
    browser_page: object,  # noqa: F811  (the fixtures of test_results_browser)
    server: str,  # noqa: F811
    seeded: tuple[Seeded, Settings],  # noqa: F811
) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    data, settings = seeded
    query = f"ad={data.ad_id}&ad={data.emotion_ad_id}&metric=smile"
    cookie = login_cookie_value(settings, _session_of(data.user), data.user)
    # The first test loads scipy and statsmodels in the server: seconds on a loaded machine.
    api = httpx.get(
        f"{server}/api/v1/compare/differences?{query}", cookies={COOKIE_NAME: cookie}, timeout=120
    )
    assert api.status_code == 200, api.text
    flagged = api.json()["metrics"]["smile"]["significant_seconds"]
    # Bright morning smiles at 6 s, Warm night at 8 s: they differ somewhere, not everywhere.
    assert flagged and len(flagged) < AD_SECONDS

    page.goto(f"{server}/results/compare?{query}")
    _wait_ready(page)
    note = page.locator("[data-differences=smile]")
    expect(note).to_contain_text("Is the difference real?")
    assert note.get_attribute("data-significant") == ",".join(map(str, flagged))
    hatched = page.evaluate(HATCHED_COLUMNS, "#chart-smile")
    columns = hatched["columns"]
    assert columns, "no hatched second drawn"
    # As many separate runs of hatched columns as runs of flagged seconds.
    runs_drawn = 1 + sum(1 for a, b in itertools.pairwise(columns) if b - a > 2)
    runs_flagged = 1 + sum(1 for a, b in itertools.pairwise(flagged) if b - a > 1)
    assert runs_drawn == runs_flagged
    # And as wide: the flagged seconds' share of the 12-second axis.
    plot = page.evaluate(
        "() => { const o = document.querySelector('#chart-smile .u-over');"
        " return o.getBoundingClientRect().width * devicePixelRatio; }"
    )
    drawn = len(columns) / plot * AD_SECONDS
    assert drawn == pytest.approx(len(flagged), abs=0.35)
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_ad_page_shows_the_ads_pictures_and_each_seeks(
    browser_page: object,  # noqa: F811
    server: str,  # noqa: F811
    seeded: tuple[Seeded, Settings],  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import Page

    page: Page = browser_page  # type: ignore[assignment]
    data, _ = seeded
    page.goto(f"{server}/results/ads/{data.ad_id}")
    _wait_ready(page)
    frames = page.locator("#frames .frame")
    count = frames.count()
    assert 4 <= count <= AD_SECONDS
    page.wait_for_function(
        "() => [...document.querySelectorAll('#frames img')].every(i => i.complete"
        " && i.naturalWidth === 192)"
    )
    # Each picture sits over the second it shows: its centre at that time on the chart's axis.
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('#frames .frame')].map(b => {
          const r = b.getBoundingClientRect();
          return {centre: r.left + r.width / 2, time: parseFloat(b.dataset.time)};
        })"""
    )
    over = page.evaluate(
        "() => { const r = document.querySelector('#chart .u-over').getBoundingClientRect();"
        " return {left: r.left, width: r.width}; }"
    )
    for box in boxes[1:-1]:  # the end ones may be held inside the strip
        expected = over["left"] + box["time"] / AD_SECONDS * over["width"]
        assert box["centre"] == pytest.approx(expected, abs=3)
    frames.nth(count // 2).click()
    start = float(boxes[count // 2]["time"]) - 0.5
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('ad-video').currentTime - {start}) < 0.3"
    )
    page.screenshot(path=str(tmp_path / "results-ad-frames.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]
