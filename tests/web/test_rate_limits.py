"""Rate limits (issue 12 item 4): session starts per client and per integration, erasure
attempts, logins with a doubling wait per account; 429 with Retry-After; no IP address stored."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import TEST_REDIS_URL
from tests.support.auth import csrf_headers, make_user
from tests.support.factories import make_ad, make_integration, make_study
from web.clips.models import PanelSession
from web.ratelimit import LOGIN_FREE_FAILURES, Limiter, RateLimited
from web.ratelimit_stores import RedisStore, SQLiteStore
from web.settings import Settings
from web.studies.models import Integration


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "session_starts_per_client_per_minute": 3,
            "session_starts_per_integration_per_minute": 1000,
            "erase_attempts_per_client_per_hour": 3,
            "logins_per_client_per_minute": 100,
        }
    )


def _integration(db_session: Session) -> Integration:
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.commit()
    db_session.expire_all()
    return integration


def _start(client: TestClient, key: str) -> object:
    # A new respondent each time: the same respondent id resumes its session instead.
    body = {"integration": key, "respondent_id": uuid.uuid4().hex, "passthrough": {}}
    return client.post("/api/v1/panel/sessions", json=body)


def _assert_429(response: object) -> None:
    assert response.status_code == 429, response.text  # type: ignore[attr-defined]
    retry_after = int(response.headers["retry-after"])  # type: ignore[attr-defined]
    assert 1 <= retry_after <= 3600
    assert "Too many" in response.json()["detail"]  # type: ignore[attr-defined]


def test_session_starts_are_limited_per_client_and_not_counted_in_the_funnel(
    client: TestClient, db_session: Session
) -> None:
    integration = _integration(db_session)
    for _ in range(3):
        assert _start(client, integration.public_key).status_code == 201  # type: ignore[attr-defined]
    _assert_429(_start(client, integration.public_key))
    count = db_session.scalar(select(func.count()).select_from(PanelSession))
    assert count == 3


def test_session_starts_are_limited_per_integration(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    settings.session_starts_per_client_per_minute = 1000
    settings.session_starts_per_integration_per_minute = 2
    flooded, other = _integration(db_session), _integration(db_session)
    for _ in range(2):
        assert _start(client, flooded.public_key).status_code == 201  # type: ignore[attr-defined]
    _assert_429(_start(client, flooded.public_key))
    assert _start(client, other.public_key).status_code == 201  # type: ignore[attr-defined]


def test_erasure_attempts_are_limited_in_the_api_and_the_page(client: TestClient) -> None:
    for _ in range(3):
        response = client.post("/api/v1/panel/erase", json={"receipt_code": "ABCD-EFGH-JKLM-NPQR"})
        assert response.status_code == 404
    _assert_429(client.post("/api/v1/panel/erase", json={"receipt_code": "ABCD-EFGH-JKLM-NPQR"}))
    page = client.post(
        "/erase",
        data={
            "receipt_code": "ABCD-EFGH-JKLM-NPQR",
            "csrf_token": csrf_headers(client)["X-CSRF-Token"],
        },
        headers={"Accept": "text/html"},
    )
    assert page.status_code == 429 and int(page.headers["retry-after"]) >= 1
    assert "text/html" in page.headers["content-type"]


def test_wrong_passwords_make_the_account_wait_longer_each_time(
    client: TestClient, db_session: Session
) -> None:
    user = make_user(db_session, email="kim@example.org", password="the right password")
    make_user(db_session, email="lee@example.org", password="the right password")
    headers = csrf_headers(client)

    def attempt(email: str, password: str) -> object:
        body = {"email": email, "password": password}
        return client.post("/api/v1/auth/login", json=body, headers=headers)

    for _ in range(LOGIN_FREE_FAILURES - 1):
        assert attempt(user.email, "wrong").status_code == 401  # type: ignore[attr-defined]
    assert attempt(user.email, "wrong").status_code == 401  # type: ignore[attr-defined]
    # Now even the right password waits: guessing on is pointless.
    refused = attempt(user.email, "the right password")
    _assert_429(refused)
    assert int(refused.headers["retry-after"]) <= 2  # type: ignore[attr-defined]
    # Another account is not affected.
    assert attempt("lee@example.org", "the right password").status_code == 200  # type: ignore[attr-defined]


def test_the_login_form_waits_too(client: TestClient, db_session: Session) -> None:
    make_user(db_session, email="kim@example.org")
    token = csrf_headers(client)["X-CSRF-Token"]
    for _ in range(LOGIN_FREE_FAILURES):
        form = {"email": "kim@example.org", "password": "wrong", "csrf_token": token}
        assert client.post("/login", data=form).status_code == 401
    _assert_html_429(client.post("/login", data=form, headers={"Accept": "text/html"}))


def _assert_html_429(response: object) -> None:
    assert response.status_code == 429  # type: ignore[attr-defined]
    assert int(response.headers["retry-after"]) >= 1  # type: ignore[attr-defined]


def test_counters_hold_keyed_hashes_with_a_short_ttl_never_an_address(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    integration = _integration(db_session)
    _start(client, integration.public_key)
    store = redis.Redis.from_url(TEST_REDIS_URL)
    keys = store.keys(f"{settings.rate_limit_namespace}:*")
    assert len(keys) == 2  # one per client, one per integration
    for key in keys:
        assert b"testclient" not in key and integration.public_key.encode() not in key
        assert 0 < store.ttl(key) <= 61


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_both_stores_count_across_web_processes(
    backend: str, settings: Settings, tmp_path: Path
) -> None:
    """Two web processes on one machine share the SQLite file; web nodes share Redis."""

    def store() -> SQLiteStore | RedisStore:
        if backend == "sqlite":
            return SQLiteStore(tmp_path / "ratelimits.db")
        return RedisStore(TEST_REDIS_URL)

    first, second = Limiter(settings, store()), Limiter(settings, store())
    first.hit("t", "client", 2, 60, "tries")
    second.hit("t", "client", 2, 60, "tries")
    with pytest.raises(RateLimited) as refused:
        first.hit("t", "client", 2, 60, "tries")
    assert 1 <= refused.value.retry_after <= 60
    second.hit("t", "someone else", 2, 60, "tries")
    for _ in range(LOGIN_FREE_FAILURES):
        first.login_failed("kim@example.org", "203.0.113.7")
    with pytest.raises(RateLimited):
        second.check_login("KIM@example.org", "203.0.113.7")
    second.check_login("kim@example.org", "198.51.100.9")  # another client is not held
