"""On a wide screen the ad plays beside its curves (and stays in view while the page scrolls);
on a narrow one it sits above them; copy buttons copy. Real Chromium, server and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from tests.e2e.test_results_browser import (  # noqa: F401  (fixtures)
    Seeded,
    browser_page,
    seeded,
    seeded_integration,
    server,
)
from web.settings import Settings

pytestmark = pytest.mark.browser


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return dict(box)


def test_the_ad_sits_beside_its_curves_on_a_wide_screen(
    browser_page: Any,  # noqa: F811
    server: str,  # noqa: F811
    seeded: tuple[Seeded, Settings],  # noqa: F811
) -> None:
    data, _ = seeded
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{server}/results/ads/{data.ad_id}")
    page.locator("#chart canvas").first.wait_for()
    video, chart = _box(page, "#ad-video"), _box(page, "#chart")
    assert video["x"] + video["width"] <= chart["x"], "the chart is to the right of the ad"
    # Both are on screen at once, the chart at the height of the video.
    assert chart["y"] < video["y"] + video["height"] and chart["y"] + 100 < 900
    assert video["width"] >= 400

    # Scrolled down to the numbers under the chart, the ad is still in view.
    page.evaluate("window.scrollTo(0, 600)")
    page.wait_for_timeout(200)
    scrolled = _box(page, "#ad-video")
    assert 0 <= scrolled["y"] < 900

    page.set_viewport_size({"width": 900, "height": 900})
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(200)
    video, chart = _box(page, "#ad-video"), _box(page, "#chart")
    assert chart["y"] >= video["y"] + video["height"], "narrow: the ad above its curves"
    assert page.errors == []  # type: ignore[attr-defined]


def test_copy_buttons_put_the_snippet_and_the_link_on_the_clipboard(
    browser_page: Any,  # noqa: F811
    server: str,  # noqa: F811
    seeded: tuple[Seeded, Settings],  # noqa: F811
    pg_engine: Engine,
) -> None:
    data, _ = seeded
    path, key = seeded_integration(pg_engine, data.study_id)
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page.goto(server + path)
    snippet = page.locator("#snippet-iframe").input_value()
    page.get_by_role("button", name="Copy iframe").click()
    page.get_by_role("button", name="Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == snippet and key in snippet
    page.get_by_role("button", name="Copy the preview link").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(f"{server}/r/{key}") and "preview=1" in copied
