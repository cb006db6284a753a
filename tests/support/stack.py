"""Real processes for end-to-end tests: the web app under uvicorn and Celery workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def candor_env(**settings: str) -> dict[str, str]:
    """The environment of a child process: CANDOR_* settings given as keyword arguments."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
    env.update({f"CANDOR_{name.upper()}": value for name, value in settings.items()})
    env["PYTHONPATH"] = str(ROOT)
    return env


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop a process we started (and its pool children: it leads its own process group)."""
    if process.poll() is None:
        process.send_signal(sig)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextmanager
def web_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """uvicorn serving create_app() on a free loopback port; yields its base URL when healthy."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    process = _spawn(command, env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        # Awaited, not slept on: 120 s only bounds a start on a machine busy with parallel
        # test workers (30 s was not always enough there).
        wait_until(lambda: _healthy(base), 120, f"web server (log: {log.read_text()[-2000:]})")
        yield base
    finally:
        stop(process)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_worker(
    env: dict[str, str], log: Path, app: str = "worker.celery_app", pool: str = "prefork"
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "celery", "-A", app, "worker", "--loglevel", "INFO"]
    command += ["--concurrency", "1", "--pool", pool, "--hostname", f"test-{time.time_ns()}@%h"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return _spawn(command, env, log)


def wait_until(check: object, timeout: float, what: str, interval: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def forget_queue(redis_url: str, queue: str) -> None:
    """Remove a test's Redis queue and the routing keys kombu keeps for it."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    client.close()
