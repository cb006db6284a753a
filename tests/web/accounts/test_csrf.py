"""A forged request (no token, a wrong one, or another browser's) changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.auth import csrf_token, login, make_user
from tests.support.factories import make_study
from web.accounts.models import User
from web.csrf import CSRF_COOKIE
from web.settings import Settings
from web.studies.models import Study

HTML = {"accept": "text/html"}


def _study_count(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(Study)) or 0


def _new_study_form(token: str | None) -> dict[str, str]:
    form = {"name": "Forged", "ad_order": "fixed", "attest_not_employees_or_students": "on"}
    if token is not None:
        form["csrf_token"] = token
    return form


@pytest.fixture
def owner(client: TestClient, settings: Settings, db_session: Session) -> User:
    user = make_user(db_session)
    login(client, settings, user)
    return user


@pytest.mark.parametrize("token", [None, "", "0" * 64])
def test_form_post_without_a_valid_token_is_refused(
    client: TestClient, db_session: Session, owner: User, token: str | None
) -> None:
    csrf_token(client)  # the browser has its CSRF cookie, the forged form lacks the token
    org_id = owner.memberships[0].organisation_id
    before = _study_count(db_session)
    response = client.post(f"/orgs/{org_id}/studies/new", data=_new_study_form(token), headers=HTML)
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert _study_count(db_session) == before


def test_form_post_with_the_token_works(
    client: TestClient, db_session: Session, owner: User
) -> None:
    org_id = owner.memberships[0].organisation_id
    response = client.post(
        f"/orgs/{org_id}/studies/new",
        data=_new_study_form(csrf_token(client)),
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_a_token_from_another_browser_is_refused(
    client: TestClient, settings: Settings, db_session: Session, owner: User
) -> None:
    """The attacker's own valid token (their cookie) does not work with the victim's cookie."""
    from web.app import create_app
    from web.deps import get_session

    attacker_app = create_app(settings)
    attacker_app.dependency_overrides[get_session] = lambda: db_session
    with TestClient(attacker_app) as attacker:
        attacker_token = csrf_token(attacker)
    csrf_token(client)
    org_id = owner.memberships[0].organisation_id
    response = client.post(
        f"/orgs/{org_id}/studies/new", data=_new_study_form(attacker_token), headers=HTML
    )
    assert response.status_code == 403


def test_a_token_from_before_login_is_refused_after(
    client: TestClient, settings: Settings, db_session: Session
) -> None:
    """The token is bound to the login cookie: one learnt while logged out is useless later."""
    anonymous_token = csrf_token(client)
    user = make_user(db_session)
    login(client, settings, user)
    org_id = user.memberships[0].organisation_id
    response = client.post(
        f"/orgs/{org_id}/studies/new", data=_new_study_form(anonymous_token), headers=HTML
    )
    assert response.status_code == 403


def test_without_the_csrf_cookie_the_token_is_refused(
    client: TestClient, db_session: Session, owner: User
) -> None:
    token = csrf_token(client)
    client.cookies.delete(CSRF_COOKIE)
    org_id = owner.memberships[0].organisation_id
    response = client.post(f"/orgs/{org_id}/studies/new", data=_new_study_form(token))
    assert response.status_code == 403
    assert "cookie missing" in response.json()["detail"]


def test_json_api_needs_the_header(client: TestClient, db_session: Session, owner: User) -> None:
    org_id = owner.memberships[0].organisation_id
    body = {"name": "Via API", "attest_not_employees_or_students": True}
    csrf_token(client)
    refused = client.post(f"/api/v1/orgs/{org_id}/studies", json=body)
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["detail"]
    wrong = client.post(
        f"/api/v1/orgs/{org_id}/studies", json=body, headers={"X-CSRF-Token": "f" * 64}
    )
    assert wrong.status_code == 403
    ok = client.post(
        f"/api/v1/orgs/{org_id}/studies", json=body, headers={"X-CSRF-Token": csrf_token(client)}
    )
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/api/v1/studies/{study}"),
        ("DELETE", "/api/v1/studies/{study}/ads/999"),
        ("POST", "/api/v1/studies/{study}/integrations"),
        ("POST", "/studies/{study}/edit"),
        ("POST", "/studies/{study}/ads"),
        ("POST", "/api/v1/studies/{study}/ads"),
        ("POST", "/logout"),
        ("POST", "/api/v1/auth/logout"),
    ],
)
def test_every_unsafe_route_checks_the_token(
    client: TestClient, db_session: Session, owner: User, method: str, path: str
) -> None:
    study = make_study(db_session, organisation=owner.memberships[0].organisation)
    csrf_token(client)
    files = {"file": ("a.mp4", b"\x00" * 10, "video/mp4")} if path.endswith("/ads") else None
    response = client.request(
        method, path.format(study=study.id), files=files, data={"name": "x"} if files else None
    )
    assert response.status_code == 403, response.text


def test_login_form_needs_the_token(client: TestClient, db_session: Session) -> None:
    """Login CSRF: a foreign site must not log the victim into the attacker's account."""
    make_user(db_session, email="dana@example.org")
    response = client.post(
        "/login", data={"email": "dana@example.org", "password": "correct horse battery"}
    )
    assert response.status_code == 403


def test_an_upload_without_the_token_is_refused_as_such_not_as_a_bad_file(
    client: TestClient, db_session: Session, owner: User
) -> None:
    """The upload page checks its token as it reads the body: the refusal is the CSRF one
    (the error answer), not the study page shown again with a message about the file."""
    study = make_study(db_session, organisation=owner.memberships[0].organisation)
    csrf_token(client)
    files = {"file": ("a.mp4", b"\x00" * 10, "video/mp4")}
    response = client.post(f"/studies/{study.id}/ads", files=files, data={"title": "x"})
    assert response.status_code == 403
    assert response.json()["code"] == "csrf"
