"""Pages declare an (empty) icon, so browsers do not ask for a missing /favicon.ico (a 404)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import make_integration, make_study


def test_site_and_recorder_pages_declare_an_icon(client: TestClient, db_session: Session) -> None:
    integration = make_integration(db_session, make_study(db_session))
    for path in ("/", "/login", "/erase", f"/r/{integration.public_key}?rid=R_1"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert '<link rel="icon" href="data:,">' in page.text, path
