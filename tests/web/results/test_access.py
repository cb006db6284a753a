"""Every results route: members read, other organisations get 404, no login gets 401/redirect."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.auth import login
from tests.support.factories import make_ad, make_study
from tests.web.results.conftest import World, member
from web.accounts.models import Role
from web.settings import Settings

ROUTES = [
    "/results/studies/{study}",
    "/results/ads/{ad}",
    "/results/ads/{ad}/segments",
    "/results/ads/{ad}/segments?var=age&metric=smile",
    "/results/compare?ad={ad}&ad={other}",
    "/results/ads/{ad}/video",
    "/results/ads/{ad}/poster",
    "/api/v1/ads/{ad}/curves",
    "/api/v1/ads/{ad}/curves?segment=age",
    "/api/v1/ads/{ad}/summary",
    "/api/v1/ads/{ad}/key-moments",
    "/api/v1/ads/{ad}/progress",
    "/api/v1/ads/{ad}/curves.csv",
    "/api/v1/ads/{ad}/panelists.csv",
    "/api/v1/studies/{study}/summaries",
    "/api/v1/studies/{study}/quality",
    "/api/v1/organisations/{org}/norms",
    "/api/v1/compare?ad={ad}&ad={other}",
]


def _url(template: str, world: World) -> str:
    return template.format(
        study=world.study.id, ad=world.ad.id, other=world.other_ad.id, org=world.organisation.id
    )


@pytest.mark.parametrize("route", ROUTES)
def test_analyst_of_the_organisation_reads(
    client: TestClient, settings: Settings, world: World, route: str
) -> None:
    login(client, settings, world.analyst)
    response = client.get(_url(route, world))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("role", [Role.OWNER, Role.DESIGNER])
def test_every_role_reads(
    client: TestClient, db_session: Session, settings: Settings, world: World, role: Role
) -> None:
    login(client, settings, member(db_session, f"{role}@acme.example", role, world.organisation))
    assert client.get(f"/results/ads/{world.ad.id}").status_code == 200
    assert client.get(f"/api/v1/studies/{world.study.id}/summaries").status_code == 200


@pytest.mark.parametrize("route", ROUTES)
def test_other_organisation_gets_404(
    client: TestClient, settings: Settings, world: World, route: str
) -> None:
    login(client, settings, world.outsider)
    response = client.get(_url(route, world))
    assert response.status_code == 404
    # Nothing of the study leaks into the refusal.
    assert "Sunny" not in response.text and "Spring" not in response.text


@pytest.mark.parametrize("route", ROUTES)
def test_missing_login_api_401_page_redirect(client: TestClient, world: World, route: str) -> None:
    url = _url(route, world)
    assert client.get(url).status_code == 401
    page = client.get(url, headers={"accept": "text/html"}, follow_redirects=False)
    if url.startswith("/api/"):
        assert page.status_code == 401
    else:
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(
    "route",
    [
        "/results/studies/999999",
        "/results/ads/999999",
        "/api/v1/ads/999999/curves",
        "/api/v1/studies/999999/quality",
        "/api/v1/organisations/999999/norms",
        "/results/compare?ad={ad}&ad=999999",
    ],
)
def test_missing_objects_are_404(
    client: TestClient, settings: Settings, world: World, route: str
) -> None:
    login(client, settings, world.analyst)
    assert client.get(_url(route, world)).status_code == 404


def test_compare_refuses_other_organisations_ads(
    client: TestClient, db_session: Session, settings: Settings, world: World
) -> None:
    foreign = make_ad(db_session, make_study(db_session))
    login(client, settings, world.analyst)
    # The analyst is not a member of the foreign ad's organisation: 404, not a hint it exists.
    response = client.get(f"/api/v1/compare?ad={world.ad.id}&ad={foreign.id}")
    assert response.status_code == 404
