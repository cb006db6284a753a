"""Sign-up, log-in and log-out through the pages and the API; cookies and missing logins."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.auth import csrf_headers, csrf_token, login, make_user
from web.accounts.auth import COOKIE_NAME, login_cookie_value
from web.accounts.models import Membership, Role, User
from web.app import create_app
from web.csrf import CSRF_COOKIE
from web.settings import Settings

HTML = {"accept": "text/html"}
SIGNUP = {
    "name": "Dana",
    "email": "Dana@Example.org",
    "password": "correct horse battery",
    "organisation_name": "Acme Research",
}


def test_signup_page_creates_owner_and_logs_in(client: TestClient, db_session: Session) -> None:
    token = csrf_token(client)
    response = client.post(
        "/signup", data={**SIGNUP, "csrf_token": token}, headers=HTML, follow_redirects=False
    )
    assert response.status_code == 303
    user = db_session.scalar(select(User).where(User.email == "dana@example.org"))
    assert user is not None and user.password_hash.startswith("$argon2")
    membership = db_session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership is not None and membership.role == Role.OWNER
    assert response.headers["location"] == f"/orgs/{membership.organisation_id}"
    page = client.get(response.headers["location"], headers=HTML)
    assert page.status_code == 200 and "Acme Research" in page.text


def test_signup_page_shows_errors_and_keeps_values(client: TestClient) -> None:
    data = {**SIGNUP, "email": "not-an-email", "password": "short"}
    data["csrf_token"] = csrf_token(client)
    response = client.post("/signup", data=data, headers=HTML)
    assert response.status_code == 400
    assert "enter an email address" in response.text.lower()
    assert "at least 10 characters" in response.text
    assert 'value="Acme Research"' in response.text
    assert "short" not in response.text  # a password is never echoed back


def test_signup_refuses_a_taken_email(client: TestClient, db_session: Session) -> None:
    make_user(db_session, email="dana@example.org")
    response = client.post("/api/v1/auth/signup", json=SIGNUP, headers=csrf_headers(client))
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


def test_api_signup_login_logout(client: TestClient) -> None:
    created = client.post("/api/v1/auth/signup", json=SIGNUP, headers=csrf_headers(client))
    assert created.status_code == 201, created.text
    me = created.json()
    assert me["email"] == "dana@example.org"
    assert [o["role"] for o in me["organisations"]] == ["owner"]
    # The token in the answer is bound to the new login and works at once.
    assert client.get("/api/v1/me").status_code == 200
    out = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": me["csrf_token"]})
    assert out.status_code == 204
    assert client.get("/api/v1/me").status_code == 401

    wrong = client.post(
        "/api/v1/auth/login",
        json={"email": "dana@example.org", "password": "wrong password"},
        headers=csrf_headers(client),
    )
    assert wrong.status_code == 401
    ok = client.post(
        "/api/v1/auth/login",
        json={"email": "DANA@example.org", "password": SIGNUP["password"]},
        headers=csrf_headers(client),
    )
    assert ok.status_code == 200
    assert client.get("/api/v1/me").json()["email"] == "dana@example.org"


def test_login_page_sets_a_safe_cookie_and_follows_next(
    client: TestClient, db_session: Session
) -> None:
    make_user(db_session, email="dana@example.org")
    response = client.post(
        "/login",
        data={
            "email": "dana@example.org",
            "password": "correct horse battery",
            "next": "/orgs/1/members",
            "csrf_token": csrf_token(client),
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/orgs/1/members"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(COOKIE_NAME))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # base_url is http in tests


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_login_never_redirects_off_site(
    client: TestClient, db_session: Session, target: str
) -> None:
    make_user(db_session, email="dana@example.org")
    data = {
        "email": "dana@example.org",
        "password": "correct horse battery",
        "next": target,
        "csrf_token": csrf_token(client),
    }
    response = client.post("/login", data=data, headers=HTML, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_wrong_password_page(client: TestClient, db_session: Session) -> None:
    make_user(db_session, email="dana@example.org")
    data = {"email": "dana@example.org", "password": "nope", "csrf_token": csrf_token(client)}
    response = client.post("/login", data=data, headers=HTML)
    assert response.status_code == 401
    assert "Email or password is wrong" in response.text
    assert COOKIE_NAME not in response.cookies


def test_cookies_are_secure_behind_https(settings: Settings, db_session: Session) -> None:
    from web.deps import get_session

    app = create_app(settings.model_copy(update={"base_url": "https://candor.example"}))
    app.dependency_overrides[get_session] = lambda: db_session
    make_user(db_session, email="dana@example.org")
    with TestClient(app, base_url="https://testserver") as client:
        response = client.post(
            "/api/v1/auth/login",
            json={"email": "dana@example.org", "password": "correct horse battery"},
            headers=csrf_headers(client),
        )
    assert response.status_code == 200
    cookies = response.headers.get_list("set-cookie")
    login_cookie = next(c for c in cookies if c.startswith(COOKIE_NAME))
    assert "Secure" in login_cookie and "HttpOnly" in login_cookie
    csrf_cookie = client.cookies.get(CSRF_COOKIE)
    assert csrf_cookie


def test_logout_page_clears_the_login(
    client: TestClient, settings: Settings, db_session: Session
) -> None:
    make_user(db_session, email="dana@example.org")
    # Log in through the form, so the cookie is the server's own (the login() helper's cookie
    # has no domain, and a test client keeps it through a deletion for another domain).
    credentials = {"email": "dana@example.org", "password": "correct horse battery"}
    client.post("/login", data={**credentials, "csrf_token": csrf_token(client)}, headers=HTML)
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/logout", headers=HTML).status_code == 200
    response = client.post(
        "/logout", data={"csrf_token": csrf_token(client)}, headers=HTML, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/login"
    cleared = next(c for c in response.headers.get_list("set-cookie") if c.startswith(COOKIE_NAME))
    assert "Max-Age=0" in cleared
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(
    "path", ["/orgs/1", "/orgs/1/members", "/studies/1", "/orgs/new", "/studies/1/integrations/1"]
)
def test_pages_without_login_redirect_to_login(client: TestClient, path: str) -> None:
    response = client.get(path, headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/orgs/1/studies"),
        ("POST", "/api/v1/orgs/1/studies"),
        ("GET", "/api/v1/studies/1"),
        ("PATCH", "/api/v1/studies/1"),
        ("POST", "/api/v1/studies/1/ads"),
        ("GET", "/api/v1/studies/1/integrations/1/snippets"),
        ("GET", "/studies/1/ads/1/video"),
    ],
)
def test_api_without_login_is_401(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 401
    assert response.json() == {"detail": "Login required", "code": "unauthorized"}


def test_home_sends_a_single_org_member_to_their_org(
    client: TestClient, settings: Settings, db_session: Session
) -> None:
    assert "Create an account" in client.get("/", headers=HTML).text
    user = make_user(db_session)
    login(client, settings, user)
    response = client.get("/", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/orgs/{user.memberships[0].organisation_id}"


def test_logout_revokes_the_session_server_side(
    client: TestClient, settings: Settings, db_session: Session
) -> None:
    """Issue 12 item 5: the old cookie answered 200 on /api/v1/me after logout."""
    make_user(db_session, email="ria@example.org", password="correct horse battery")
    headers = csrf_headers(client)
    response = client.post(
        "/api/v1/auth/login",
        json={"email": "ria@example.org", "password": "correct horse battery"},
        headers=headers,
    )
    assert response.status_code == 200
    old_cookie = client.cookies[COOKIE_NAME]
    headers = {"X-CSRF-Token": response.json()["csrf_token"]}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    client.cookies.set(COOKIE_NAME, old_cookie)  # a copy kept by whoever had it
    assert client.get("/api/v1/me").status_code == 401


def test_logging_out_one_browser_leaves_the_others_logged_in(
    client: TestClient, settings: Settings, db_session: Session
) -> None:
    user = make_user(db_session, email="ria@example.org")
    other_browser = login_cookie_value(settings, db_session, user)
    login(client, settings, user)
    logout = client.post("/logout", data={"csrf_token": csrf_token(client)}, follow_redirects=False)
    assert logout.status_code == 303
    client.cookies.set(COOKIE_NAME, other_browser)
    assert client.get("/api/v1/me").status_code == 200
