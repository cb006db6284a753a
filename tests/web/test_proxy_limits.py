"""Limits that hold in both deployments (issue 19, items 2 and 3): reached directly, forwarded
headers are ignored; behind a trusted proxy each client has its own bucket; windows move, so no
burst fits across a boundary; wrong passwords from other clients never keep the owner out."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import TEST_REDIS_URL
from tests.support.auth import csrf_headers, make_user
from tests.support.factories import make_ad, make_integration, make_study
from web.app import create_app
from web.deps import get_session
from web.proxy import client_address, parse_networks
from web.ratelimit import LOGIN_FREE_FAILURES, Limiter, RateLimited
from web.ratelimit_stores import RedisStore, SQLiteStore
from web.settings import Settings
from web.studies.models import Integration

PROXY = "10.0.0.2"
SPOOFS = [
    {"X-Forwarded-For": "198.51.100.1"},
    {"X-Forwarded-For": "198.51.100.2, 198.51.100.3"},
    {"Forwarded": "for=198.51.100.4"},
    {"Forwarded": 'for="[2001:db8::1]:80";proto=https'},
    {"X-Real-IP": "198.51.100.5"},
]


def _app(settings: Settings, db_session: Session, **update: object) -> FastAPI:
    application = create_app(
        settings.model_copy(
            update={
                "session_starts_per_client_per_minute": 3,
                "session_starts_per_integration_per_minute": 1000,
                "logins_per_client_per_minute": 1000,
                **update,
            }
        )
    )

    def _session() -> Iterator[Session]:
        yield db_session

    application.dependency_overrides[get_session] = _session
    return application


def _integration(db_session: Session) -> Integration:
    study = make_study(db_session)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    return integration


def _start(client: TestClient, key: str, headers: dict[str, str] | None = None) -> int:
    body = {"integration": key, "respondent_id": uuid.uuid4().hex}
    return int(client.post("/api/v1/panel/sessions", json=body, headers=headers).status_code)


def test_reached_directly_forwarded_headers_choose_no_bucket(
    settings: Settings, db_session: Session
) -> None:
    """No proxy is trusted by default: 3 starts a minute, whatever the headers claim."""
    integration = _integration(db_session)
    app = _app(settings, db_session)
    with TestClient(app, client=("203.0.113.9", 5000)) as client:
        answers = [_start(client, integration.public_key, SPOOFS[i % 5]) for i in range(6)]
    assert answers == [201, 201, 201, 429, 429, 429]


def test_a_trusted_peer_is_still_just_a_peer_when_it_is_not_the_proxy(
    settings: Settings, db_session: Session
) -> None:
    integration = _integration(db_session)
    app = _app(settings, db_session, trusted_proxies=[PROXY])
    with TestClient(app, client=("203.0.113.9", 5000)) as client:
        answers = [_start(client, integration.public_key, SPOOFS[i % 5]) for i in range(5)]
    assert answers == [201, 201, 201, 429, 429]


def test_behind_the_proxy_each_client_has_its_own_bucket(
    settings: Settings, db_session: Session
) -> None:
    integration = _integration(db_session)
    app = _app(settings, db_session, trusted_proxies=["10.0.0.0/24"])
    key = integration.public_key
    with TestClient(app, client=(PROXY, 5000)) as proxy:

        def via(client_ip: str, claimed: str | None = None) -> int:
            # The proxy appends the address it saw; whatever the client sent stays to its left.
            chain = f"{claimed}, {client_ip}" if claimed else client_ip
            return _start(proxy, key, {"X-Forwarded-For": chain})

        assert [via("198.51.100.10") for _ in range(4)] == [201, 201, 201, 429]
        # Another client is not held up by the first one's flood...
        assert via("198.51.100.11") == 201
        # ...and the first cannot escape by claiming another address to the left.
        assert via("198.51.100.10", claimed="192.0.2.77") == 429
        # The standard header counts the same.
        assert _start(proxy, key, {"Forwarded": "for=198.51.100.10"}) == 429


def test_the_client_is_the_right_most_untrusted_hop() -> None:
    trusted = parse_networks(["10.0.0.0/8", "2001:db8::/32"])

    def xff(value: str) -> list[tuple[bytes, bytes]]:
        return [(b"x-forwarded-for", value.encode())]

    assert client_address("203.0.113.1", xff("1.1.1.1"), trusted) == "203.0.113.1"
    assert client_address("10.0.0.1", xff("1.1.1.1, 2.2.2.2"), trusted) == "2.2.2.2"
    assert client_address("10.0.0.1", xff("1.1.1.1, 2.2.2.2, 10.9.9.9"), trusted) == "2.2.2.2"
    assert client_address("10.0.0.1", xff("garbage"), trusted) == "10.0.0.1"
    assert client_address("10.0.0.1", [], trusted) == "10.0.0.1"
    forwarded = [(b"forwarded", b'for="[2001:db9::5]:443", for=10.0.0.7')]
    assert client_address("10.0.0.1", forwarded, trusted) == "2001:db9::5"


def test_trusted_proxies_are_read_from_the_environment_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CANDOR_TRUSTED_PROXIES", "172.16.0.0/12, 10.0.0.5")
    assert Settings().trusted_proxies == ["172.16.0.0/12", "10.0.0.5"]
    monkeypatch.setenv("CANDOR_TRUSTED_PROXIES", '["::1"]')
    assert Settings().trusted_proxies == ["::1"]
    assert Settings(trusted_proxies=[]).trusted_proxies == []
    monkeypatch.setenv("CANDOR_TRUSTED_PROXIES", "proxy.internal")
    with pytest.raises(ValueError, match="not an IP address or network"):
        Settings()


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_windows_move_so_no_burst_fits_across_a_boundary(
    backend: str, settings: Settings, tmp_path: Path
) -> None:
    """Fixed one-second windows would let 2 + 2 hits through around a whole second."""
    store = SQLiteStore(tmp_path / "rl.db") if backend == "sqlite" else RedisStore(TEST_REDIS_URL)
    limiter = Limiter(settings, store)
    while not 0.3 < time.time() % 1 < 0.6:  # start mid-second, so the boundary comes first
        time.sleep(0.02)
    start = time.time()
    limiter.hit("burst", "c", 2, 1, "tries")
    limiter.hit("burst", "c", 2, 1, "tries")
    time.sleep(int(start) + 1.05 - time.time())  # past the fixed boundary, within a second
    with pytest.raises(RateLimited) as refused:
        limiter.hit("burst", "c", 2, 1, "tries")
    assert refused.value.retry_after == 1
    time.sleep(start + 1.05 - time.time())
    limiter.hit("burst", "c", 2, 1, "tries")  # the first hits have left the window


def _login(client: TestClient, email: str, password: str, client_ip: str) -> int:
    headers = {**csrf_headers(client), "X-Forwarded-For": client_ip}
    body = {"email": email, "password": password}
    return int(client.post("/api/v1/auth/login", json=body, headers=headers).status_code)


def test_wrong_passwords_from_elsewhere_never_keep_the_owner_out(
    settings: Settings, db_session: Session
) -> None:
    owner = make_user(db_session, email="owner@example.org", password="the right password")
    app = _app(settings, db_session, trusted_proxies=[PROXY])
    with TestClient(app, client=(PROXY, 5000)) as client:
        for attacker in range(3 * LOGIN_FREE_FAILURES):
            # The attack of issue 19 from many addresses, and again from one.
            assert _login(client, owner.email, "guess", f"198.51.100.{attacker}") == 401
        for _ in range(LOGIN_FREE_FAILURES):
            assert _login(client, owner.email, "guess", "192.0.2.66") == 401
        assert _login(client, owner.email, "guess", "192.0.2.66") == 429, "the guesser waits"
        assert _login(client, owner.email, "the right password", "203.0.113.50") == 200


def test_direct_wrong_passwords_still_wait_whatever_the_headers(
    settings: Settings, db_session: Session
) -> None:
    owner = make_user(db_session, email="owner@example.org", password="the right password")
    app = _app(settings, db_session)
    with TestClient(app, client=("203.0.113.9", 5000)) as client:
        for i in range(LOGIN_FREE_FAILURES):
            assert _login(client, owner.email, "guess", f"198.51.100.{i}") == 401
        assert _login(client, owner.email, "guess", "198.51.100.99") == 429
