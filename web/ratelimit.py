"""Rate limits: counters with a short TTL, in Redis in production, in a SQLite file on one machine.

No IP address is stored: a client is named by a keyed hash of its address (HMAC under the
secret key), an account by a keyed hash of its email, and each counter expires with its window.
Fixed windows: a key counts hits in the current window of `period` seconds; over the limit, the
answer is 429 with Retry-After (the seconds left in the window).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import redis
from fastapi import Request

from web.settings import Settings

# Logins: this many wrong passwords for an account are free; each one after doubles the wait.
LOGIN_FREE_FAILURES = 5
LOGIN_MAX_BACKOFF_S = 15 * 60
LOGIN_FAILURE_MEMORY_S = 60 * 60


class RateLimited(Exception):
    """Too many attempts; retry after `retry_after` seconds (mapped to 429 + Retry-After)."""

    def __init__(self, retry_after: int, what: str) -> None:
        super().__init__(f"Too many {what}: try again in {retry_after} s")
        self.retry_after = max(1, retry_after)
        self.detail = str(self)


class CounterStore(Protocol):
    def incr(self, key: str, ttl_s: int) -> int:
        """Add one to the key (created with this TTL) and return its count."""
        ...

    def put(self, key: str, ttl_s: int) -> None:
        """Set a flag key that expires after ttl_s."""
        ...

    def ttl(self, key: str) -> int | None:
        """Seconds before the key expires, or None if absent."""
        ...

    def delete(self, key: str) -> None: ...


class RedisStore:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)

    def incr(self, key: str, ttl_s: int) -> int:
        pipe = self.client.pipeline()
        pipe.incr(key)
        pipe.expire(key, ttl_s, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def put(self, key: str, ttl_s: int) -> None:
        self.client.set(key, b"1", ex=ttl_s)

    def ttl(self, key: str) -> int | None:
        left = int(self.client.ttl(key))  # -2: no key; -1: no expiry (never set so here)
        return left if left >= 0 else None

    def delete(self, key: str) -> None:
        self.client.delete(key)


class SQLiteStore:
    """One machine without Redis (the embedded default): a small SQLite file all web processes
    on the machine share, apart from the main database so counters never touch it."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.local = threading.local()
        with self._connection() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS counter "
                "(key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)"
            )

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self.local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            self.local.connection = connection
        return connection

    def incr(self, key: str, ttl_s: int) -> int:
        now = time.time()
        connection = self._connection()
        connection.execute("DELETE FROM counter WHERE expires < ?", (now,))
        row = connection.execute(
            "INSERT INTO counter (key, count, expires) VALUES (?, 1, ?) "
            "ON CONFLICT (key) DO UPDATE SET count = count + 1 RETURNING count",
            (key, now + ttl_s),
        ).fetchone()
        return int(row[0])

    def put(self, key: str, ttl_s: int) -> None:
        self._connection().execute(
            "INSERT OR REPLACE INTO counter (key, count, expires) VALUES (?, 1, ?)",
            (key, time.time() + ttl_s),
        )

    def ttl(self, key: str) -> int | None:
        row = (
            self._connection()
            .execute("SELECT expires FROM counter WHERE key = ?", (key,))
            .fetchone()
        )
        left = None if row is None else float(row[0]) - time.time()
        return math.ceil(left) if left is not None and left > 0 else None

    def delete(self, key: str) -> None:
        self._connection().execute("DELETE FROM counter WHERE key = ?", (key,))


@dataclass
class Limiter:
    """The app's rate limits; `store` holds the counters, `namespace` separates deployments."""

    settings: Settings
    store: CounterStore

    def _key(self, scope: str, identity: str) -> str:
        digest = hmac.new(
            self.settings.secret_key.encode(), f"{scope}|{identity}".encode(), hashlib.sha256
        ).hexdigest()[:32]
        return f"{self.settings.rate_limit_namespace}:rl:{scope}:{digest}"

    def hit(self, scope: str, identity: str, limit: int, period_s: int, what: str) -> None:
        """Count one attempt; RateLimited once more than `limit` fall in the current window."""
        now = time.time()
        window = int(now // period_s)
        count = self.store.incr(f"{self._key(scope, identity)}:{window}", period_s + 1)
        if count > limit:
            raise RateLimited(math.ceil((window + 1) * period_s - now), what)

    def client(self, request: Request) -> str:
        """The client's address, only ever used inside a keyed hash."""
        return request.client.host if request.client else "unknown"

    def check_login(self, email: str) -> None:
        """RateLimited while the account waits out its backoff after wrong passwords."""
        left = self.store.ttl(self._key("login-wait", email.lower()))
        if left is not None:
            raise RateLimited(left, "wrong passwords for this account")

    def login_failed(self, email: str) -> None:
        """Count a wrong password; past the free ones, each doubles the account's wait."""
        failures = self.store.incr(self._key("login-fail", email.lower()), LOGIN_FAILURE_MEMORY_S)
        if failures >= LOGIN_FREE_FAILURES:
            wait = min(2 ** (failures - LOGIN_FREE_FAILURES + 1), LOGIN_MAX_BACKOFF_S)
            self.store.put(self._key("login-wait", email.lower()), wait)

    def login_succeeded(self, email: str) -> None:
        self.store.delete(self._key("login-fail", email.lower()))


def make_limiter(settings: Settings) -> Limiter:
    """Redis when the deployment has one (the broker's, or CANDOR_RATE_LIMIT_URL), else SQLite."""
    url = settings.rate_limit_url or (
        settings.broker_url if settings.broker_url.startswith(("redis://", "rediss://")) else ""
    )
    if url:
        return Limiter(settings, RedisStore(url))
    return Limiter(settings, SQLiteStore(settings.data_dir / "ratelimits.db"))


def limiter_of(request: Request) -> Limiter:
    limiter: Limiter = request.app.state.limiter
    return limiter


def limit_session_starts(request: Request, integration_key: str) -> None:
    """Per integration and per client, so a flood neither fills a study's funnel nor blocks it."""
    limiter = limiter_of(request)
    settings = limiter.settings
    limiter.hit(
        "start-client", limiter.client(request), settings.session_starts_per_client_per_minute,
        60, "session starts from this address",
    )  # fmt: skip
    limiter.hit(
        "start-integration", integration_key, settings.session_starts_per_integration_per_minute,
        60, "session starts for this integration",
    )  # fmt: skip


def limit_erase_attempts(request: Request) -> None:
    limiter = limiter_of(request)
    limiter.hit(
        "erase", limiter.client(request), limiter.settings.erase_attempts_per_client_per_hour,
        3600, "erasure attempts from this address",
    )  # fmt: skip


def limit_logins(request: Request, email: str) -> None:
    """Per client (many accounts tried from one place) and per account (its backoff)."""
    limiter = limiter_of(request)
    limiter.hit(
        "login", limiter.client(request), limiter.settings.logins_per_client_per_minute,
        60, "login attempts from this address",
    )  # fmt: skip
    limiter.check_login(email)
