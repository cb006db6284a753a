"""Pooled PostgreSQL connections: pinged only after sitting idle, replaced when found dropped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from tests.conftest import TEST_DATABASE_URL
from web.db import make_engine, ping_idle_connections


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The pings sent (one entry each), counted at the dialect every engine here uses."""
    sent: list[int] = []
    dialect = make_engine(TEST_DATABASE_URL).dialect
    original = type(dialect).do_ping

    def counting(self: Any, dbapi_connection: Any) -> bool:
        sent.append(1)
        return bool(original(self, dbapi_connection))

    monkeypatch.setattr(type(dialect), "do_ping", counting)
    yield sent


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        pid = connection.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


def test_a_connection_back_from_a_request_a_moment_ago_is_not_pinged(pings: list[int]) -> None:
    """Under load every request would otherwise pay a round trip for the ping."""
    engine = make_engine(TEST_DATABASE_URL, pool_size=1, max_overflow=0)
    try:
        first = _backend_pid(engine)
        for _ in range(5):
            assert _backend_pid(engine) == first  # the same pooled connection, reused
        assert pings == []
    finally:
        engine.dispose()


def test_a_connection_dropped_while_idle_is_replaced_before_use(pings: list[int]) -> None:
    engine = create_engine(TEST_DATABASE_URL, pool_size=1, max_overflow=0)
    ping_idle_connections(engine, idle_s=0.0)  # every checkout counts as after a long idle
    admin = make_engine(TEST_DATABASE_URL)
    try:
        dropped = _backend_pid(engine)
        with admin.connect() as connection:  # the server drops it while it sits in the pool
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
        replacement = _backend_pid(engine)  # no error: the ping found it gone
        assert replacement != dropped
        assert len(pings) >= 1
    finally:
        engine.dispose()
        admin.dispose()
