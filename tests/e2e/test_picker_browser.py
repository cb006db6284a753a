"""The ad page's metric picker and readout in real headless Chromium: at the widths analysts use
(1280, 1366, 1920 px) no picker label overlaps another or runs past its group's border, and the
text readout under the chart (what a screen reader reads) follows the picked curves at once; key
moments are marked at the second their labels name."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_results_browser import (  # noqa: F401  (fixtures)
    Seeded,
    _wait_ready,
    browser_page,
    seeded,
    server,
)
from web.settings import Settings

pytestmark = pytest.mark.browser

# Every picker label's text boxes (a wrapped label has several): each must lie inside its
# fieldset, inside its own label box, and clear of every other label's boxes.
LABEL_PROBLEMS = """() => {
  const problems = [];
  const items = [...document.querySelectorAll('#picker .pick')].map((label) => {
    const range = document.createRange();
    range.selectNodeContents(label);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0);
    return { label, rects, group: label.closest('fieldset').getBoundingClientRect(),
             name: label.textContent.trim().replace(/\\s+/g, ' ') };
  });
  for (const it of items) {
    if (it.rects.some((r) => r.left < it.group.left - 0.5 || r.right > it.group.right + 0.5)) {
      problems.push('past its group border: ' + it.name);
    }
    if (it.label.scrollWidth > it.label.clientWidth + 1) problems.push('cut: ' + it.name);
  }
  const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1
    && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      if (items[i].rects.some((a) => items[j].rects.some((b) => overlap(a, b)))) {
        problems.push('overlap: ' + items[i].name + ' / ' + items[j].name);
      }
    }
  }
  if (document.documentElement.scrollWidth > document.documentElement.clientWidth) {
    const wide = [...document.querySelectorAll('body *')].filter(
      (el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5);
    problems.push('page scrolls sideways: ' + wide.slice(0, 5).map(
      (el) => el.tagName + '.' + el.className + '#' + el.id).join(', '));
  }
  return problems;
}"""


# Summary figure cells that break a figure across lines: more text lines than the cell's own
# line breaks call for (the ad's name, in the first column, may wrap).
WRAPPED_FIGURES = """() => [...document.querySelectorAll('#summary-h ~ * table.figures td')]
  .filter((td) => td.cellIndex > 0).filter((td) => {
    const range = document.createRange();
    range.selectNodeContents(td);
    const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0)
      .map((r) => Math.round(r.bottom / 4)));
    return tops.size > td.querySelectorAll('br').length + 1;
  }).map((td) => td.textContent.trim().replace(/\\s+/g, ' '))"""


def test_picker_labels_fit_at_common_widths(
    browser_page: Any,  # noqa: F811
    server: str,  # noqa: F811
    seeded: tuple[Seeded, Settings],  # noqa: F811
) -> None:
    data, _ = seeded
    page = browser_page
    for ad_id in (data.ad_id, data.emotion_ad_id):  # the emotion ad has two more groups
        page.goto(f"{server}/results/ads/{ad_id}")
        _wait_ready(page)
        for width in (1280, 1366, 1920):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(100)
            assert page.evaluate(LABEL_PROBLEMS) == [], (ad_id, width)
            assert page.evaluate(WRAPPED_FIGURES) == [], (ad_id, width)
    # One action unit per label, never nested parentheses.
    page.get_by_role("checkbox", name="Smirk (AU12, one side)").wait_for(state="attached")
    assert "((" not in page.locator("#picker").inner_text()
    assert page.errors == []


# Where each key moment's dark tag starts on the chart's canvas, and where the second its
# button names starts on the x axis (both in canvas pixels).
MARKER_POSITIONS = """() => {
  const data = JSON.parse(document.getElementById('chart-data').textContent);
  const canvas = document.querySelector('#chart canvas');
  const over = document.querySelector('#chart .u-over');
  const dpr = canvas.width / canvas.getBoundingClientRect().width;
  const left = over.offsetLeft * dpr, width = over.clientWidth * dpr;
  const xMax = Math.max(data.duration, data.seconds.length);
  const row = Math.round((over.offsetTop + 4) * dpr);
  const pixels = canvas.getContext('2d').getImageData(0, row, canvas.width, 1).data;
  const starts = [];
  for (let x = 0; x < canvas.width; x++) {
    const dark = (i) => pixels[i * 4 + 3] > 200 && pixels[i * 4] < 60 && pixels[i * 4 + 1] < 60
      && pixels[i * 4 + 2] < 60;
    if (dark(x) && !dark(x - 1)) starts.push(x);
  }
  return { starts, expected: data.moments.map((m) => left + m.second / xMax * width) };
}"""


def test_the_readout_follows_the_picked_curves(
    browser_page: Any,  # noqa: F811
    server: str,  # noqa: F811
    seeded: tuple[Seeded, Settings],  # noqa: F811
) -> None:
    data, _ = seeded
    page = browser_page
    page.goto(f"{server}/results/ads/{data.ad_id}")
    _wait_ready(page)
    # Each key moment's tag stands at the second its label names (6 s, not 6.5 s).
    markers = page.evaluate(MARKER_POSITIONS)
    assert markers["expected"], markers
    for x in markers["expected"]:
        assert any(abs(start - x) <= 2 for start in markers["starts"]), markers
    readout = page.locator("#readout")
    assert "Smile (AU12)" in readout.inner_text()
    # Ticking and unticking change the readout at once, with no cursor over the chart.
    page.get_by_role("checkbox", name="Brow raise (AU2)").check()
    page.wait_for_function(
        "() => document.getElementById('readout').textContent.includes('Brow raise')"
    )
    page.get_by_role("checkbox", name="Smile (AU12)").uncheck()
    page.wait_for_function(
        "() => !document.getElementById('readout').textContent.includes('Smile')"
    )
    text = readout.inner_text()
    assert text.startswith("0.0 s. Second 0: Attention") and "Brow raise (AU2)" in text, text
    # A shared address with a metric this ad lacks opens with a note, and the address is
    # rewritten to the curves shown.
    page.goto(f"{server}/results/ads/{data.ad_id}?metric=joy&metric=brow_raise")
    _wait_ready(page)
    assert page.locator("[data-unavailable]").is_visible()
    page.wait_for_function("() => location.search === '?metric=brow_raise'")
    assert page.errors == []
