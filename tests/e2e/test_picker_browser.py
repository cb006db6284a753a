"""The ad page's metric picker and readout in real headless Chromium: at the widths analysts use
(1280, 1366, 1920 px) no picker label overlaps another or runs past its group's border, and the
text readout under the chart (what a screen reader reads) follows the picked curves at once."""

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


def test_the_readout_follows_the_picked_curves(
    browser_page: Any,  # noqa: F811
    server: str,  # noqa: F811
    seeded: tuple[Seeded, Settings],  # noqa: F811
) -> None:
    data, _ = seeded
    page = browser_page
    page.goto(f"{server}/results/ads/{data.ad_id}")
    _wait_ready(page)
    readout = page.locator("#readout")
    assert "Smile (AU12)" in readout.inner_text()
    # Ticking and unticking change the readout at once, with no cursor over the chart.
    page.get_by_role("checkbox", name="Brow raise (AU2)").check()
    page.wait_for_function("document.getElementById('readout').textContent.includes('Brow raise')")
    page.get_by_role("checkbox", name="Smile (AU12)").uncheck()
    page.wait_for_function("!document.getElementById('readout').textContent.includes('Smile')")
    text = readout.inner_text()
    assert text.startswith("0.0 s. Second 0: Attention") and "Brow raise (AU2)" in text, text
    assert page.errors == []
