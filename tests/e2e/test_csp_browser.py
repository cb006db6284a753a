"""The Content-Security-Policy (issue 19 item 6) breaks nothing: real Chromium loads the
designer's, analyst's and panelist's pages and reports no CSP violation and no script error."""

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


def test_pages_and_the_recorder_run_under_the_csp(
    browser_page: Any,  # noqa: F811
    server: str,  # noqa: F811
    seeded: tuple[Seeded, Settings],  # noqa: F811
    pg_engine: Engine,
) -> None:
    data, _ = seeded
    integration_path, key = seeded_integration(pg_engine, data.study_id)
    page = browser_page
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(f"{server}/results/ads/{data.ad_id}")
    page.locator("#chart canvas").first.wait_for()
    page.goto(f"{server}/results/studies/{data.study_id}")
    page.goto(server + integration_path)
    page.get_by_role("button", name="Copy iframe").wait_for()  # copy.js ran
    page.goto(f"{server}/docs")
    page.locator(".swagger-ui .info").first.wait_for()  # Swagger UI started
    response = page.goto(f"{server}/r/{key}?rid=R_1")
    assert response is not None and "frame-ancestors" not in response.headers.get(
        "content-security-policy", ""
    )
    page.locator("#candor-recorder").wait_for()
    page.wait_for_function(
        "() => { const r = document.querySelector('#candor-recorder');"
        " return r && (r.shadowRoot || r).textContent.length > 20 }"
    )
    assert violations == []
    assert page.errors == []  # type: ignore[attr-defined]
