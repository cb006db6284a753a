"""`/docs` works offline: Swagger UI comes from Candor itself, not from a CDN."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_api_docs_load_their_assets_from_candor(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/") or a.startswith("data:") for a in assets), assets
    for asset in (a for a in assets if a.startswith("/vendor/")):
        response = client.get(asset)
        assert response.status_code == 200, f"{asset}: run scripts/setup (npm ci)"
        assert len(response.content) > 10_000
    assert "/openapi.json" in page.text
    assert client.get("/redoc").status_code == 404  # ReDoc would need a CDN
