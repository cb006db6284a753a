"""Designer and analyst pages cannot be framed (clickjacking); the panelist recorder can."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import make_ad, make_integration, make_study
from web.app import create_app
from web.settings import Settings


@pytest.mark.parametrize("path", ["/login", "/signup", "/", "/studies", "/results", "/erase"])
def test_pages_refuse_to_be_framed(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_the_recorder_page_stays_frameable_by_surveys(
    client: TestClient, db_session: Session
) -> None:
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.commit()
    response = client.get(f"/r/{integration.public_key}?rid=r1")
    assert response.status_code == 200
    assert "x-frame-options" not in response.headers
    assert "frame-ancestors" not in response.headers.get("content-security-policy", "")
    module = client.get("/recorder/candor-recorder.js")
    assert module.status_code == 200 and "x-frame-options" not in module.headers


def test_pages_carry_a_default_self_csp_nosniff_and_a_referrer_policy(client: TestClient) -> None:
    page = client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp
    assert "'unsafe-eval'" not in csp and "object-src 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "strict-transport-security" not in page.headers, "plain http: no HSTS"
    module = client.get("/recorder/candor-recorder.js")
    assert module.headers["x-content-type-options"] == "nosniff"


def test_the_recorder_page_lists_what_the_recorder_needs_and_keeps_its_referrer_policy(
    client: TestClient, db_session: Session
) -> None:
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.commit()
    page = client.get(f"/r/{integration.public_key}?rid=r1")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "media-src 'self' blob: mediastream:" in csp
    assert "frame-ancestors" not in csp and "x-frame-options" not in page.headers
    assert page.headers["referrer-policy"] == "same-origin", "the route's own, stricter one"
    assert page.headers["x-content-type-options"] == "nosniff"


def test_hsts_when_the_base_url_is_https(settings: Settings, db_session: Session) -> None:
    app = create_app(settings.model_copy(update={"base_url": "https://candor.example"}))
    with TestClient(app) as client:
        assert "max-age=" in client.get("/login").headers["strict-transport-security"]


def test_the_panel_api_hot_path_is_left_alone(client: TestClient) -> None:
    answer = client.get("/api/v1/panel/ping")
    assert "content-security-policy" not in answer.headers


def test_the_withdrawal_service_worker_may_reach_this_origin_only(client: TestClient) -> None:
    """recorder_js/src/withdraw-sw.js: a worker takes the CSP of its own script's answer."""
    answer = client.get("/recorder/withdraw-sw.js")
    assert answer.status_code == 200
    assert "javascript" in answer.headers["content-type"]
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "script-src 'self'" in csp
    # No Service-Worker-Allowed: its scope can only lie under /recorder/, where no page lives.
    assert "service-worker-allowed" not in answer.headers
