"""Rate limits: moving windows (the `limits` package), in Redis in production, in a SQLite file
on one machine (the stores: web/ratelimit_stores.py); and a doubling wait after wrong
passwords, per account and client.

No IP address is stored: a client is named by a keyed hash of its address (HMAC under the
secret key), an account by a keyed hash of its email, and every entry expires with its window.
The address is the client's as the trusted proxy saw it (web/proxy.py): forwarded headers count
only from CANDOR_TRUSTED_PROXIES, so a client reaching the app directly cannot pick its bucket,
and behind the proxy each client has its own.

Moving windows: a key holds the times of its last `limit` hits; a hit is refused while `limit`
of them fall within the last `period` seconds, so no burst fits across a window boundary (fixed
windows let twice the limit through there). Over the limit the answer is 429 with Retry-After,
the seconds until the oldest hit in the window leaves it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass, field

from fastapi import Request
from limits import RateLimitItemPerSecond
from limits.strategies import MovingWindowRateLimiter

from web.errors import DomainError
from web.ratelimit_stores import CounterStore, RedisStore, SQLiteStore
from web.settings import Settings

# Logins: this many wrong passwords for an account from one client are free; each one after
# doubles that client's wait for that account. Keyed on account *and* client, so nobody can lock
# an owner out by failing from elsewhere; one client trying many accounts meets the per-client
# login limit instead.
LOGIN_FREE_FAILURES = 5
LOGIN_MAX_BACKOFF_S = 15 * 60
LOGIN_FAILURE_MEMORY_S = 60 * 60


class RateLimited(DomainError):
    """Too many attempts; retry after `retry_after` seconds (answered with Retry-After)."""

    kind = "rate_limited"

    def __init__(self, retry_after: int, what: str) -> None:
        retry_after = max(1, retry_after)
        super().__init__(f"Too many {what}: try again in {retry_after} s", retry_after=retry_after)
        self.retry_after = retry_after


@dataclass
class Limiter:
    """The app's rate limits; `store` holds them, `namespace` separates deployments."""

    settings: Settings
    store: CounterStore
    windows: MovingWindowRateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.windows = MovingWindowRateLimiter(
            self.store.windows(self.settings.rate_limit_namespace)
        )

    def _digest(self, scope: str, identity: str) -> str:
        return hmac.new(
            self.settings.secret_key.encode(), f"{scope}|{identity}".encode(), hashlib.sha256
        ).hexdigest()[:32]

    def _key(self, scope: str, identity: str) -> str:
        return f"{self.settings.rate_limit_namespace}:rl:{scope}:{self._digest(scope, identity)}"

    def hit(self, scope: str, identity: str, limit: int, period_s: int, what: str) -> None:
        """Count one attempt; RateLimited once `limit` attempts fall in the last `period_s`."""
        item = RateLimitItemPerSecond(limit, period_s, namespace="rl")
        digest = self._digest(scope, identity)
        if not self.windows.hit(item, scope, digest):
            reset_at, _left = self.windows.get_window_stats(item, scope, digest)
            raise RateLimited(math.ceil(reset_at - time.time()), what)

    def client(self, request: Request) -> str:
        """The client's address (as the trusted proxy saw it), only ever used in a keyed hash."""
        return request.client.host if request.client else "unknown"

    def _login_identity(self, email: str, client: str) -> str:
        return f"{email.lower()}|{client}"

    def check_login(self, email: str, client: str) -> None:
        """RateLimited while this client waits out its backoff for this account."""
        left = self.store.ttl(self._key("login-wait", self._login_identity(email, client)))
        if left is not None:
            raise RateLimited(left, "wrong passwords for this account")

    def login_failed(self, email: str, client: str) -> None:
        """Count a wrong password from this client; past the free ones, each doubles its wait."""
        identity = self._login_identity(email, client)
        failures = self.store.incr(self._key("login-fail", identity), LOGIN_FAILURE_MEMORY_S)
        if failures >= LOGIN_FREE_FAILURES:
            wait = min(2 ** (failures - LOGIN_FREE_FAILURES + 1), LOGIN_MAX_BACKOFF_S)
            self.store.put(self._key("login-wait", identity), wait)

    def login_succeeded(self, email: str, client: str) -> None:
        self.store.delete(self._key("login-fail", self._login_identity(email, client)))


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
    limiter.check_login(email, limiter.client(request))
