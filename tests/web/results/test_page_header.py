"""Results pages share the site's header: who is logged in and a working log-out form."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.support.auth import login
from tests.web.results.conftest import World
from web.accounts.auth import COOKIE_NAME
from web.settings import Settings

PAGES = [
    "/results",
    "/results/studies/{study}",
    "/results/ads/{ad}",
    "/results/ads/{ad}/segments",
    "/results/compare?ad={ad}&ad={other}",
]


@pytest.mark.parametrize("path", PAGES)
def test_results_pages_show_the_logged_in_user(
    client: TestClient, settings: Settings, world: World, path: str
) -> None:
    login(client, settings, world.analyst)
    url = path.format(study=world.study.id, ad=world.ad.id, other=world.other_ad.id)
    response = client.get(url)
    assert response.status_code == 200
    header = response.text.split("</header>")[0]
    assert world.analyst.email in header and "Log out" in header
    assert 'href="/signup"' not in header and 'href="/login"' not in header
    assert f'href="/orgs/{world.organisation.id}"' in header
    # Private figures: never kept in a shared cache.
    assert response.headers["cache-control"] == "no-store"


def test_log_out_from_a_results_page(client: TestClient, settings: Settings, world: World) -> None:
    login(client, settings, world.analyst)
    html = client.get(f"/results/ads/{world.ad.id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token, "the header's log-out form carries a CSRF token"
    response = client.post("/logout", data={"csrf_token": token.group(1)}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    # The login cookie is cleared: the next results page asks to log in again.
    assert f'{COOKIE_NAME}=""' in response.headers["set-cookie"]
