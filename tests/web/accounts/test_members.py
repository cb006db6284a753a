"""Members, roles and the invitation flow: a link shown once, stored as a hash, used once."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.auth import csrf_headers, csrf_token, login, make_user
from web.accounts.models import Invite, Membership, Organisation, Role, User
from web.db import utcnow
from web.settings import Settings

HTML = {"accept": "text/html"}


@pytest.fixture
def owner(client: TestClient, settings: Settings, db_session: Session) -> User:
    user = make_user(db_session, email="owner@example.org")
    login(client, settings, user)
    return user


def _org(user: User) -> Organisation:
    return user.memberships[0].organisation


def _invite(client: TestClient, org_id: int, **body: object) -> dict[str, object]:
    response = client.post(
        f"/api/v1/orgs/{org_id}/invites", json=body, headers=csrf_headers(client)
    )
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


def test_invite_token_is_shown_once_and_stored_as_a_hash(
    client: TestClient, db_session: Session, owner: User
) -> None:
    created = _invite(client, _org(owner).id, role="analyst")
    token = str(created["token"])
    assert created["url"] == f"http://127.0.0.1:8000/invites/{token}"
    invite = db_session.get(Invite, created["id"])
    assert invite is not None
    assert invite.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invite.token_hash
    assert invite.expires_at - utcnow() > timedelta(days=6, hours=23)
    listed = client.get(f"/api/v1/orgs/{_org(owner).id}/invites").json()
    assert [i["id"] for i in listed] == [created["id"]]
    assert "token" not in listed[0]


def test_new_user_accepts_an_invite_through_the_page(
    client: TestClient, settings: Settings, db_session: Session, owner: User
) -> None:
    org = _org(owner)
    page = client.post(
        f"/orgs/{org.id}/invites",
        data={"role": "designer", "expires_in_days": "3", "csrf_token": csrf_token(client)},
        headers=HTML,
    )
    assert page.status_code == 201
    assert page.headers["referrer-policy"] == "no-referrer"
    url = re.search(r'value="(http://127\.0\.0\.1:8000/invites/[^"]+)"', page.text)
    assert url is not None
    path = url.group(1).removeprefix("http://127.0.0.1:8000")

    client.cookies.clear()  # the colleague's own browser
    shown = client.get(path, headers=HTML)
    assert shown.status_code == 200 and "as <strong>designer</strong>" in shown.text
    joined = client.post(
        f"{path}/signup",
        data={
            "name": "Sam",
            "email": "sam@example.org",
            "password": "another good passphrase",
            "csrf_token": csrf_token(client),
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert joined.status_code == 303 and joined.headers["location"] == f"/orgs/{org.id}"
    sam = db_session.scalar(select(User).where(User.email == "sam@example.org"))
    assert sam is not None
    membership = db_session.scalar(select(Membership).where(Membership.user_id == sam.id))
    assert membership is not None and membership.role == Role.DESIGNER

    # Single use: the same link now explains itself and adds nobody.
    again = client.get(path, headers=HTML)
    assert again.status_code == 410 and "already been used" in again.text


def test_existing_user_accepts_and_cannot_join_twice(
    client: TestClient, settings: Settings, db_session: Session, owner: User
) -> None:
    org = _org(owner)
    first = _invite(client, org.id, role="analyst")
    second = _invite(client, org.id, role="owner")
    other = make_user(db_session, email="ana@example.org")  # a member of their own org
    login(client, settings, other)
    accepted = client.post(
        "/api/v1/invites/accept", json={"token": first["token"]}, headers=csrf_headers(client)
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"id": org.id, "name": org.name, "role": "analyst"}
    twice = client.post(
        "/api/v1/invites/accept", json={"token": second["token"]}, headers=csrf_headers(client)
    )
    assert twice.status_code == 409


def test_invite_for_an_address_only_works_for_it(
    client: TestClient, settings: Settings, db_session: Session, owner: User
) -> None:
    created = _invite(client, _org(owner).id, role="designer", email="kim@example.org")
    stranger = make_user(db_session, email="lee@example.org")
    login(client, settings, stranger)
    refused = client.post(
        "/api/v1/invites/accept", json={"token": created["token"]}, headers=csrf_headers(client)
    )
    assert refused.status_code == 403
    assert "kim@example.org" in refused.json()["detail"]


@pytest.mark.parametrize("problem", ["expired", "unknown", "revoked"])
def test_unusable_invites_are_refused(
    client: TestClient, settings: Settings, db_session: Session, owner: User, problem: str
) -> None:
    created = _invite(client, _org(owner).id, role="designer")
    token = str(created["token"])
    if problem == "expired":
        invite = db_session.get(Invite, created["id"])
        assert invite is not None
        invite.expires_at = utcnow() - timedelta(seconds=1)
        db_session.flush()
    elif problem == "unknown":
        token = token[:-2] + "xx"
    else:
        revoked = client.delete(
            f"/api/v1/orgs/{_org(owner).id}/invites/{created['id']}", headers=csrf_headers(client)
        )
        assert revoked.status_code == 204
    client.cookies.clear()
    body = {"token": token, "name": "Sam", "email": "sam@example.org", "password": "x" * 12}
    response = client.post("/api/v1/invites/accept-new", json=body, headers=csrf_headers(client))
    assert response.status_code == (410 if problem == "expired" else 404)
    assert db_session.scalar(select(User).where(User.email == "sam@example.org")) is None


def test_owner_changes_roles_but_keeps_one_owner(
    client: TestClient, db_session: Session, owner: User
) -> None:
    org = _org(owner)
    colleague = make_user(db_session, email="col@example.org", role=Role.ANALYST, organisation=org)
    colleague_membership = colleague.memberships[0]
    owner_membership = owner.memberships[0]
    base = f"/api/v1/orgs/{org.id}/members"

    demote_self = client.patch(
        f"{base}/{owner_membership.id}", json={"role": "designer"}, headers=csrf_headers(client)
    )
    assert demote_self.status_code == 400 and "at least one owner" in demote_self.json()["detail"]
    remove_self = client.delete(f"{base}/{owner_membership.id}", headers=csrf_headers(client))
    assert remove_self.status_code == 400

    promoted = client.patch(
        f"{base}/{colleague_membership.id}", json={"role": "owner"}, headers=csrf_headers(client)
    )
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
    members = {m["email"]: m["role"] for m in client.get(base).json()}
    assert members == {"owner@example.org": "owner", "col@example.org": "owner"}
    # Now there are two owners, the first may step down.
    step_down = client.patch(
        f"{base}/{owner_membership.id}", json={"role": "analyst"}, headers=csrf_headers(client)
    )
    assert step_down.status_code == 200


def test_owner_removes_a_member_through_the_page(
    client: TestClient, db_session: Session, owner: User
) -> None:
    org = _org(owner)
    colleague = make_user(db_session, email="col@example.org", role=Role.DESIGNER, organisation=org)
    page = client.get(f"/orgs/{org.id}/members", headers=HTML)
    assert "col@example.org" in page.text and "Invite a colleague" in page.text
    response = client.post(
        f"/orgs/{org.id}/members/{colleague.memberships[0].id}/remove",
        data={"csrf_token": csrf_token(client)},
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303
    db_session.expire_all()
    assert db_session.scalar(select(Membership).where(Membership.user_id == colleague.id)) is None


@pytest.mark.parametrize("role", [Role.DESIGNER, Role.ANALYST])
def test_only_owners_manage_members(
    client: TestClient, settings: Settings, db_session: Session, role: Role
) -> None:
    owner = make_user(db_session, email="owner@example.org")
    org = _org(owner)
    member = make_user(db_session, email="m@example.org", role=role, organisation=org)
    login(client, settings, member)
    base = f"/api/v1/orgs/{org.id}"
    headers = csrf_headers(client)
    assert client.get(f"{base}/members").status_code == 200  # everyone sees who is in
    assert client.post(f"{base}/invites", json={}, headers=headers).status_code == 403
    assert client.get(f"{base}/invites").status_code == 403
    target = owner.memberships[0].id
    assert (
        client.patch(f"{base}/members/{target}", json={"role": "analyst"}, headers=headers)
    ).status_code == 403
    assert client.delete(f"{base}/members/{target}", headers=headers).status_code == 403
    page = client.get(f"/orgs/{org.id}/members", headers=HTML)
    assert page.status_code == 200 and "Invite a colleague" not in page.text


def test_members_of_another_organisation_are_not_found(
    client: TestClient, db_session: Session, owner: User
) -> None:
    stranger = make_user(db_session, email="x@example.org")
    other_org = _org(stranger)
    headers = csrf_headers(client)
    assert client.get(f"/api/v1/orgs/{other_org.id}/members").status_code == 404
    patch = client.patch(
        f"/api/v1/orgs/{_org(owner).id}/members/{stranger.memberships[0].id}",
        json={"role": "analyst"},
        headers=headers,
    )
    assert patch.status_code == 404


def test_existing_user_accepts_through_the_page(
    client: TestClient, settings: Settings, db_session: Session, owner: User
) -> None:
    org = _org(owner)
    created = _invite(client, org.id, role="designer")
    colleague = make_user(db_session, email="col@example.org")
    login(client, settings, colleague)
    path = f"/invites/{created['token']}"
    page = client.get(path, headers=HTML)
    assert "Join as col@example.org" in page.text
    joined = client.post(
        f"{path}/accept", data={"csrf_token": csrf_token(client)}, follow_redirects=False
    )
    assert joined.status_code == 303 and joined.headers["location"] == f"/orgs/{org.id}"
    # Two organisations now: the home page lists both instead of redirecting.
    home = client.get("/", headers=HTML)
    assert home.status_code == 200 and org.name in home.text


def test_create_another_organisation(client: TestClient, db_session: Session, owner: User) -> None:
    refused = client.post("/orgs/new", data={"name": " ", "csrf_token": csrf_token(client)})
    assert refused.status_code == 400
    created = client.post(
        "/orgs/new",
        data={"name": "Second Lab", "csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert created.status_code == 303
    orgs = client.get("/api/v1/me").json()["organisations"]
    assert sorted((o["name"], o["role"]) for o in orgs) == [
        ("Org of owner@example.org", "owner"),
        ("Second Lab", "owner"),
    ]
