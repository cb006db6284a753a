"""Designer and analyst pages cannot be framed (clickjacking); the panelist recorder can."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import make_ad, make_integration, make_study


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
