"""Where the rate limits' counters are kept (web/ratelimit.py counts): Redis when the deployment
has one, else a SQLite file every web process on the machine shares, apart from the main
database. Both hold moving windows for the `limits` package and plain expiring counters."""

from __future__ import annotations

import math
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol

import redis
from limits.storage import MovingWindowSupport, RedisStorage, Storage

# The longest window any limit uses: entries older than this are dead wherever they are.
LONGEST_WINDOW_S = 3600


class CounterStore(Protocol):
    def windows(self, namespace: str) -> Storage:
        """A `limits` storage with moving windows over the same backend."""
        ...

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
        self.url = url
        self.client = redis.Redis.from_url(url)

    def windows(self, namespace: str) -> Storage:
        return RedisStorage(self.url, key_prefix=namespace)

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
        self.moving = SQLiteWindows(path)
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

    def windows(self, namespace: str) -> Storage:
        return self.moving


class SQLiteWindows(Storage, MovingWindowSupport):
    """Moving windows for `limits` in a SQLite file: one row per hit, shared by every web
    process on the machine. `BEGIN IMMEDIATE` makes a count-and-insert atomic across them."""

    STORAGE_SCHEME = ["candor+sqlite"]  # noqa: RUF012  (the shape limits' registry reads)

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.local = threading.local()
        self._connection().execute(
            "CREATE TABLE IF NOT EXISTS window_hit (key TEXT NOT NULL, at REAL NOT NULL)"
        )
        self._connection().execute(
            "CREATE INDEX IF NOT EXISTS window_hit_key_at ON window_hit (key, at)"
        )

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self.local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            # No fsync per hit: a power cut may forget the last hits, which is harmless here.
            connection.execute("PRAGMA synchronous=NORMAL")
            self.local.connection = connection
        return connection

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        now = time.time()
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            if random.random() < 0.01:  # now and then, what every window has let go of
                connection.execute(
                    "DELETE FROM window_hit WHERE at <= ?", (now - LONGEST_WINDOW_S,)
                )
            connection.execute(
                "DELETE FROM window_hit WHERE key = ? AND at <= ?", (key, now - expiry)
            )
            (count,) = connection.execute(
                "SELECT count(*) FROM window_hit WHERE key = ?", (key,)
            ).fetchone()
            allowed = int(count) + amount <= limit
            if allowed:
                connection.executemany(
                    "INSERT INTO window_hit (key, at) VALUES (?, ?)", [(key, now)] * amount
                )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return allowed

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        oldest, count = (
            self._connection()
            .execute(
                "SELECT min(at), count(*) FROM window_hit WHERE key = ? AND at > ?",
                (key, now - expiry),
            )
            .fetchone()
        )
        return (float(oldest) if oldest is not None else now, int(count))

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM window_hit WHERE key = ?", (key,))

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM window_hit").rowcount

    def check(self) -> bool:
        return True

    # Fixed-window counting is not used: only moving windows live here.
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("SQLiteWindows holds moving windows only")

    def get(self, key: str) -> int:
        raise NotImplementedError("SQLiteWindows holds moving windows only")

    def get_expiry(self, key: str) -> float:
        raise NotImplementedError("SQLiteWindows holds moving windows only")
