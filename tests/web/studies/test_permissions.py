"""Who may do what: every study route against every role, and against another organisation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.auth import csrf_token, login, make_user
from tests.support.factories import make_integration, make_study
from tests.web.studies.conftest import ad_with_files
from web.accounts.models import Role
from web.settings import Settings


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    edits: bool  # True: owners and designers only; False: every member
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    upload: bool = False

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ROUTES = [
    # Reading: every member.
    Route("GET", "/orgs/{org}", edits=False),
    Route("GET", "/studies/{study}", edits=False),
    Route("GET", "/studies/{study}/ads/{ad}/video", edits=False),
    Route("GET", "/studies/{study}/ads/{ad}/poster", edits=False),
    Route("GET", "/studies/{study}/integrations/{integration}", edits=False),
    Route("GET", "/studies/{study}/integrations/{integration}/consent/en/versions", edits=False),
    Route("GET", "/api/v1/orgs/{org}/studies", edits=False),
    Route("GET", "/api/v1/studies/{study}", edits=False),
    Route("GET", "/api/v1/studies/{study}/ads", edits=False),
    Route("GET", "/api/v1/studies/{study}/ads/{ad}", edits=False),
    Route("GET", "/api/v1/studies/{study}/integrations", edits=False),
    Route("GET", "/api/v1/studies/{study}/integrations/{integration}", edits=False),
    Route("GET", "/api/v1/studies/{study}/integrations/{integration}/snippets", edits=False),
    Route("GET", "/api/v1/studies/{study}/integrations/{integration}/consent", edits=False),
    Route("GET", "/api/v1/studies/{study}/integrations/{integration}/consent/fr/versions", False),
    # Editing: owners and designers.
    Route("GET", "/orgs/{org}/studies/new", edits=True),
    Route(
        "POST",
        "/api/v1/orgs/{org}/studies",
        edits=True,
        json={"name": "New", "attest_not_employees_or_students": True},
    ),
    Route("GET", "/studies/{study}/edit", edits=True),
    Route("POST", "/studies/{study}/edit", edits=True, form={"name": "Renamed"}),
    Route("PATCH", "/api/v1/studies/{study}", edits=True, json={"name": "Renamed"}),
    Route("POST", "/api/v1/studies/{study}/ads", edits=True, upload=True),
    Route("POST", "/studies/{study}/ads", edits=True, upload=True),
    Route("PUT", "/api/v1/studies/{study}/ads/order", edits=True, json={"ad_ids": ["{ad}"]}),
    Route("PATCH", "/api/v1/studies/{study}/ads/{ad}", edits=True, json={"title": "T"}),
    Route("DELETE", "/api/v1/studies/{study}/ads/{ad}", edits=True),
    Route("POST", "/studies/{study}/ads/{ad}/move", edits=True, form={"direction": "up"}),
    Route("POST", "/studies/{study}/ads/{ad}/delete", edits=True, form={}),
    Route("GET", "/studies/{study}/integrations/new", edits=True),
    Route("POST", "/api/v1/studies/{study}/integrations", edits=True, json={"name": "Qualtrics"}),
    Route(
        "POST",
        "/studies/{study}/integrations/new",
        edits=True,
        form={"name": "Link", "kind": "generic"},
    ),
    Route("GET", "/studies/{study}/integrations/{integration}/edit", edits=True),
    Route(
        "PATCH",
        "/api/v1/studies/{study}/integrations/{integration}",
        edits=True,
        json={"passthrough_vars": ["age_band"]},
    ),
    Route("GET", "/studies/{study}/integrations/{integration}/consent/en", edits=True),
    Route(
        "POST",
        "/studies/{study}/integrations/{integration}/consent/en",
        edits=True,
        form={"consent_text": "New words.", "instructions": ""},
    ),
    Route(
        "POST",
        "/api/v1/studies/{study}/integrations/{integration}/consent/en",
        edits=True,
        json={"consent_text": "New words."},
    ),
]


def _call(client: TestClient, route: Route, ids: dict[str, int], video: Path) -> int:
    path = route.path.format(**ids)
    token = csrf_token(client)
    headers = {"X-CSRF-Token": token, "accept": "text/html" if "/api/" not in path else "*/*"}
    kwargs: dict[str, Any] = {"headers": headers}
    if route.json is not None:
        kwargs["json"] = {
            k: [int(str(v).format(**ids)) for v in val]
            if isinstance(val, list) and k == "ad_ids"
            else val
            for k, val in route.json.items()
        }
    elif route.form is not None:
        kwargs["data"] = {**route.form, "csrf_token": token}
    elif route.upload:
        kwargs["data"] = {"csrf_token": token, "title": "Uploaded"}
        kwargs["files"] = {"file": ("ad.mp4", video.read_bytes(), "video/mp4")}
    response = client.request(route.method, path, follow_redirects=False, **kwargs)
    return response.status_code


@pytest.fixture
def world(db_session: Session, settings: Settings) -> dict[str, int]:
    """One organisation with a study, an ad (files on disk) and an integration."""
    owner = make_user(db_session, email="boss@example.org")
    org = owner.memberships[0].organisation
    study = make_study(db_session, organisation=org)
    ad = ad_with_files(db_session, settings, study)
    integration = make_integration(db_session, study)
    return {"org": org.id, "study": study.id, "ad": ad.id, "integration": integration.id}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_role_matrix(
    client: TestClient,
    settings: Settings,
    db_session: Session,
    world: dict[str, int],
    videos: dict[str, Path],
    role: Role,
    route: Route,
) -> None:
    from web.accounts.models import Organisation

    org = db_session.get(Organisation, world["org"])
    member = make_user(db_session, email=f"{role.value}@example.org", role=role, organisation=org)
    login(client, settings, member)
    status = _call(client, route, world, videos["mp4"])
    if route.edits and role == Role.ANALYST:
        assert status == 403, f"{role} may not {route}"
    else:
        assert status in (200, 201, 204, 303), f"{role} should be able to {route}: {status}"


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_another_organisation_sees_nothing(
    client: TestClient,
    settings: Settings,
    db_session: Session,
    world: dict[str, int],
    videos: dict[str, Path],
    route: Route,
) -> None:
    """An owner elsewhere gets 404 for everything here: not even existence is confirmed."""
    outsider = make_user(db_session, email="outsider@example.org", role=Role.OWNER)
    login(client, settings, outsider)
    assert _call(client, route, world, videos["mp4"]) == 404


def test_an_ad_or_integration_is_only_found_under_its_own_study(
    client: TestClient, settings: Settings, db_session: Session, world: dict[str, int]
) -> None:
    """Mixing my study's id with another organisation's ad id finds nothing."""
    me = make_user(db_session, email="me@example.org")
    login(client, settings, me)
    mine = make_study(db_session, organisation=me.memberships[0].organisation)
    assert client.get(f"/studies/{mine.id}/ads/{world['ad']}/video").status_code == 404
    assert client.get(f"/api/v1/studies/{mine.id}/ads/{world['ad']}").status_code == 404
    snippets = f"/api/v1/studies/{mine.id}/integrations/{world['integration']}/snippets"
    assert client.get(snippets).status_code == 404
