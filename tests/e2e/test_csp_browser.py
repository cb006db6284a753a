"""The Content-Security-Policy (issue 19 item 6) breaks nothing: real Chromium loads the
designer's, analyst's and panelist's pages and reports no CSP violation and no script error."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.e2e.test_results_browser import (  # noqa: F401  (fixtures)
    Seeded,
    browser_page,
    seeded,
    server,
)
from tests.support.factories import make_integration
from web.settings import Settings
from web.studies.models import Study

pytestmark = pytest.mark.browser


def test_pages_and_the_recorder_run_under_the_csp(
    browser_page: Any,  # noqa: F811
    server: str,  # noqa: F811
    seeded: tuple[Seeded, Settings],  # noqa: F811
    pg_engine: Engine,
) -> None:
    data, _ = seeded
    with Session(pg_engine) as session:
        study = session.get(Study, data.study_id)
        assert study is not None
        integration = make_integration(session, study)
        session.commit()
        integration_path = f"/studies/{data.study_id}/integrations/{integration.id}"
        key = integration.public_key
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
