"""API tokens: a script reads and writes through the JSON API with `Authorization: Bearer`, no
CSRF; a token is kept only as a keyed hash, is scoped to one organisation and to its user's role
there, and stops working when revoked."""

from __future__ import annotations

import hashlib
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.auth import csrf_token, login, make_user
from tests.support.factories import make_study
from web.accounts.models import Membership, Organisation, Role, User
from web.accounts.tokens import (
    MAX_ACTIVE_PER_USER,
    PREFIX,
    ApiToken,
    authenticate,
    new_token,
    revoke,
    token_hash,
)
from web.errors import Forbidden
from web.settings import Settings
from web.studies.models import Study

HTML = {"accept": "text/html"}
NEW_STUDY = {"name": "By script", "attest_not_employees_or_students": True}


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _token(db_session: Session, settings: Settings, user: User, name: str = "nightly") -> str:
    org_id = user.memberships[0].organisation_id
    made = new_token(
        session=db_session, settings=settings, user=user, organisation_id=org_id, name=name
    )
    return made.secret


@pytest.fixture
def owner(db_session: Session) -> User:
    return make_user(db_session)


def _script(app_client: TestClient) -> TestClient:
    """The same app as a script sees it: no cookie of any kind."""
    app_client.cookies.clear()
    return app_client


def test_a_token_reads_and_writes_without_csrf(
    client: TestClient, db_session: Session, settings: Settings, owner: User
) -> None:
    secret = _token(db_session, settings, owner)
    org_id = owner.memberships[0].organisation_id
    script = _script(client)

    me = script.get("/api/v1/me", headers=_bearer(secret))
    assert me.status_code == 200, me.text
    assert me.json()["email"] == owner.email

    created = script.post(f"/api/v1/orgs/{org_id}/studies", json=NEW_STUDY, headers=_bearer(secret))
    assert created.status_code == 201, created.text
    study_id = created.json()["id"]
    renamed = script.patch(
        f"/api/v1/studies/{study_id}", json={"name": "Renamed"}, headers=_bearer(secret)
    )
    assert renamed.status_code == 200, renamed.text
    assert db_session.get(Study, study_id).name == "Renamed"  # type: ignore[union-attr]
    listed = script.get(f"/api/v1/orgs/{org_id}/studies", headers=_bearer(secret))
    assert [s["name"] for s in listed.json()] == ["Renamed"]


def test_last_use_is_recorded(
    client: TestClient, db_session: Session, settings: Settings, owner: User
) -> None:
    secret = _token(db_session, settings, owner)
    row = db_session.scalar(select(ApiToken))
    assert row is not None and row.last_used_at is None
    assert _script(client).get("/api/v1/me", headers=_bearer(secret)).status_code == 200
    db_session.refresh(row)
    assert row.last_used_at is not None


def test_the_secret_is_stored_only_as_a_keyed_hash(
    db_session: Session, settings: Settings, owner: User
) -> None:
    secret = _token(db_session, settings, owner)
    assert secret.startswith(PREFIX) and len(secret) >= len(PREFIX) + 43
    row = db_session.scalar(select(ApiToken))
    assert row is not None
    stored = [str(getattr(row, c.key)) for c in ApiToken.__table__.columns]
    assert not any(secret in value or secret[len(PREFIX) :] in value for value in stored)
    # Keyed with the server secret: another server's key makes another hash.
    other = settings.model_copy(update={"secret_key": "another-secret-key-long-enough-0123456789"})
    assert row.token_hash == token_hash(settings, secret) != token_hash(other, secret)
    assert row.token_hash != hashlib.sha256(secret.encode()).hexdigest()


@pytest.mark.parametrize(
    "header",
    ["Bearer cnd_not-a-real-token", "Bearer cnd_"],
)
def test_an_unknown_token_is_a_401_in_the_error_shape(client: TestClient, header: str) -> None:
    response = _script(client).get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json() == {"detail": "API token unknown or revoked", "code": "invalid_token"}


def test_a_revoked_token_stops_at_once(
    client: TestClient, db_session: Session, settings: Settings, owner: User
) -> None:
    secret = _token(db_session, settings, owner)
    row = db_session.scalar(select(ApiToken))
    assert row is not None
    login(client, settings, owner)
    page = client.get("/account", headers=HTML)
    assert page.status_code == 200 and "nightly" in page.text
    revoked = client.post(
        f"/account/tokens/{row.id}/revoke",
        data={"csrf_token": csrf_token(client)},
        headers=HTML,
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    refused = _script(client).get("/api/v1/me", headers=_bearer(secret))
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"


def test_another_organisations_resources_are_not_found(
    client: TestClient, db_session: Session, settings: Settings, owner: User
) -> None:
    # The owner belongs to a second organisation too; the token is for the first only.
    second = Organisation(name="Second")
    db_session.add(second)
    db_session.flush()
    db_session.add(Membership(user_id=owner.id, organisation_id=second.id, role=Role.OWNER))
    db_session.flush()
    elsewhere = make_study(db_session, second, name="Elsewhere")
    secret = _token(db_session, settings, owner)
    script = _script(client)

    for url in (f"/api/v1/studies/{elsewhere.id}", f"/api/v1/orgs/{second.id}/studies"):
        response = script.get(url, headers=_bearer(secret))
        assert response.status_code == 404, url
        assert response.json() == {"detail": "Not found", "code": "not_found"}
    write = script.patch(
        f"/api/v1/studies/{elsewhere.id}", json={"name": "x"}, headers=_bearer(secret)
    )
    assert write.status_code == 404
    me = script.get("/api/v1/me", headers=_bearer(secret)).json()
    assert [o["id"] for o in me["organisations"]] == [owner.memberships[0].organisation_id]
    # Beyond any organisation: a token cannot make one, nor mint another token.
    made = script.post("/api/v1/orgs", json={"name": "New"}, headers=_bearer(secret))
    assert made.status_code == 403
    assert made.json()["code"] == "token_not_allowed"


def test_a_wrong_role_write_is_forbidden(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    analyst = make_user(db_session, email="ana@example.org", role=Role.ANALYST)
    org_id = analyst.memberships[0].organisation_id
    study = make_study(db_session, db_session.get(Organisation, org_id))
    secret = _token(db_session, settings, analyst)
    script = _script(client)
    assert script.get(f"/api/v1/studies/{study.id}", headers=_bearer(secret)).status_code == 200
    response = script.patch(
        f"/api/v1/studies/{study.id}", json={"name": "x"}, headers=_bearer(secret)
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "Your role does not allow this", "code": "forbidden"}


def test_the_token_follows_the_users_role_and_membership(
    client: TestClient, db_session: Session, settings: Settings, owner: User
) -> None:
    secret = _token(db_session, settings, owner)
    org_id = owner.memberships[0].organisation_id
    script = _script(client)
    membership = owner.memberships[0]
    membership.role = Role.ANALYST
    db_session.flush()
    demoted = script.post(f"/api/v1/orgs/{org_id}/studies", json=NEW_STUDY, headers=_bearer(secret))
    assert demoted.status_code == 403
    db_session.delete(membership)
    db_session.flush()
    gone = script.get("/api/v1/me", headers=_bearer(secret))
    assert gone.status_code == 401 and gone.json()["code"] == "invalid_token"


def test_a_cookie_session_still_needs_csrf_on_writes(
    client: TestClient, db_session: Session, settings: Settings, owner: User
) -> None:
    login(client, settings, owner)
    org_id = owner.memberships[0].organisation_id
    csrf_token(client)  # the browser has its CSRF cookie
    refused = client.post(f"/api/v1/orgs/{org_id}/studies", json=NEW_STUDY)
    assert refused.status_code == 403 and "CSRF" in refused.text
    # A bearer value that is not an API token changes nothing: the cookie still needs CSRF.
    refused = client.post(
        f"/api/v1/orgs/{org_id}/studies", json=NEW_STUDY, headers=_bearer("something-else")
    )
    assert refused.status_code == 403 and "CSRF" in refused.text
    # A revoked or forged API token beside the cookie does not fall back to the cookie.
    forged = client.post(
        f"/api/v1/orgs/{org_id}/studies", json=NEW_STUDY, headers=_bearer("cnd_forged")
    )
    assert forged.status_code == 401
    assert db_session.scalar(select(Study)) is None


def test_tokens_are_not_accepted_by_pages(
    client: TestClient, db_session: Session, settings: Settings, owner: User
) -> None:
    secret = _token(db_session, settings, owner)
    org_id = owner.memberships[0].organisation_id
    page = _script(client).post(
        f"/orgs/{org_id}/studies/new",
        data={"name": "x", "ad_order": "fixed", "attest_not_employees_or_students": "on"},
        headers={**HTML, **_bearer(secret)},
        follow_redirects=False,
    )
    # Pages are cookie-only: the token is not looked at, so this is a request with no login.
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert db_session.scalar(select(Study)) is None


def test_the_account_page_makes_a_token_shown_once(
    client: TestClient, db_session: Session, settings: Settings, owner: User
) -> None:
    login(client, settings, owner)
    org_id = owner.memberships[0].organisation_id
    made = client.post(
        "/account/tokens",
        data={"csrf_token": csrf_token(client), "organisation_id": str(org_id), "name": "CI"},
        headers=HTML,
    )
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    found = re.search(r'value="(cnd_[A-Za-z0-9_-]+)"', made.text)
    assert found is not None
    secret = found.group(1)
    assert f"Authorization: Bearer {secret}" in made.text  # the curl example, ready to run
    listed = client.get("/account", headers=HTML)
    assert "CI" in listed.text and secret not in listed.text and "never" in listed.text
    # The token works, then shows its last use.
    assert _script(client).get("/api/v1/me", headers=_bearer(secret)).status_code == 200
    login(client, settings, owner)
    assert "never" not in client.get("/account", headers=HTML).text


@pytest.mark.parametrize(
    ("form", "status"),
    [({"name": ""}, 400), ({"name": "x" * 101}, 400), ({"organisation_id": "abc"}, 400)],
)
def test_the_account_page_refuses_bad_input(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    owner: User,
    form: dict[str, str],
    status: int,
) -> None:
    login(client, settings, owner)
    data = {"organisation_id": str(owner.memberships[0].organisation_id), "name": "ok", **form}
    response = client.post(
        "/account/tokens", data={"csrf_token": csrf_token(client), **data}, headers=HTML
    )
    assert response.status_code == status
    assert db_session.scalar(select(ApiToken)) is None


def test_the_account_page_needs_csrf_and_cannot_mint_for_a_stranger_org(
    client: TestClient, db_session: Session, settings: Settings, owner: User
) -> None:
    stranger = make_user(db_session, email="eve@example.org")
    login(client, settings, owner)
    csrf_token(client)
    forged = client.post(
        "/account/tokens",
        data={"organisation_id": str(owner.memberships[0].organisation_id), "name": "x"},
        headers=HTML,
    )
    assert forged.status_code == 403
    other_org = stranger.memberships[0].organisation_id
    response = client.post(
        "/account/tokens",
        data={"csrf_token": csrf_token(client), "organisation_id": str(other_org), "name": "x"},
        headers=HTML,
    )
    assert response.status_code == 404
    assert db_session.scalar(select(ApiToken)) is None


def test_someone_elses_token_cannot_be_revoked(
    client: TestClient, db_session: Session, settings: Settings, owner: User
) -> None:
    stranger = make_user(db_session, email="eve@example.org")
    _token(db_session, settings, stranger)
    row = db_session.scalar(select(ApiToken))
    assert row is not None
    login(client, settings, owner)
    response = client.post(
        f"/account/tokens/{row.id}/revoke", data={"csrf_token": csrf_token(client)}, headers=HTML
    )
    assert response.status_code == 404
    db_session.refresh(row)
    assert row.revoked_at is None


def test_a_user_holds_a_bounded_number_of_live_tokens(
    client: TestClient, db_session: Session, settings: Settings, owner: User
) -> None:
    for i in range(MAX_ACTIVE_PER_USER):
        _token(db_session, settings, owner, name=f"t{i}")
    login(client, settings, owner)
    data = {"organisation_id": str(owner.memberships[0].organisation_id), "name": "one more"}
    refused = client.post(
        "/account/tokens", data={"csrf_token": csrf_token(client), **data}, headers=HTML
    )
    assert refused.status_code == 409 and "revoke one first" in refused.text
    # A revoked token frees its place.
    first = db_session.scalar(select(ApiToken).where(ApiToken.name == "t0"))
    assert first is not None
    client.post(f"/account/tokens/{first.id}/revoke", data={"csrf_token": csrf_token(client)})
    again = client.post(
        "/account/tokens", data={"csrf_token": csrf_token(client), **data}, headers=HTML
    )
    assert again.status_code == 201


def test_a_token_cannot_mint_or_revoke_tokens(
    db_session: Session, settings: Settings, owner: User
) -> None:
    """Defence in depth (pages never take a token): the service refuses a token's session."""
    secret = _token(db_session, settings, owner)
    row = db_session.scalar(select(ApiToken))
    assert row is not None
    assert authenticate(session=db_session, settings=settings, secret=secret).id == owner.id
    org_id = owner.memberships[0].organisation_id
    with pytest.raises(Forbidden):
        new_token(session=db_session, settings=settings, user=owner, organisation_id=org_id,
                  name="escalate")  # fmt: skip
    with pytest.raises(Forbidden):
        revoke(session=db_session, user=owner, token_id=row.id)
