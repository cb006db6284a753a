"""`candor serve`: the web app and a worker (with the sweeper's beat) as child processes."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import click

from candor.console import relay
from web.clips.samples import DONE_FILE
from web.settings import PLACEHOLDER_SECRET, Settings

STOP_TIMEOUT_S = 20
SECRET_FILE = "secret-key"  # noqa: S105  (a file name, not a secret)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    oneshot: bool = False  # does a job and exits; its exit stops nothing else


def web_command(host: str, port: int, workers: int) -> list[str]:
    # No access log: it would write panelists' IP addresses, which Candor never keeps.
    return [
        sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory",
        "--host", host, "--port", str(port), "--workers", str(workers), "--no-access-log",
        # Forwarded headers are read by web/proxy.py, from CANDOR_TRUSTED_PROXIES only.
        "--no-proxy-headers",
    ]  # fmt: skip


def worker_command(
    settings: Settings,
    concurrency: int,
    beat: bool,
    hostname: str | None = None,
    quiet: bool = False,
) -> list[str]:
    """quiet: no start banner (serve prints where the database and broker are itself)."""
    command = [
        sys.executable, "-m", "celery", "-A", "worker.celery_app", *(["--quiet"] if quiet else []),
        "worker", "--loglevel", "INFO", "--concurrency", str(concurrency),
    ]  # fmt: skip
    if hostname:
        command += ["--hostname", hostname]
    if beat:
        command += ["--beat", "--schedule", str(settings.data_dir / "celerybeat-schedule")]
    if not settings.resolved_broker_url.startswith(("redis://", "rediss://", "amqp://")):
        # kombu's SQLAlchemy transport has no fanout: no gossip, mingle or remote control.
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return command


def run_children(
    commands: dict[str, list[str]], oneshot: dict[str, list[str]] | None = None
) -> int:
    """Start every command in its own process group, its console output filtered (console.py);
    stop them all on Ctrl-C, SIGTERM, or when any but a one-shot job exits. Returns the exit
    code to use."""
    children = [Child(name, _spawn(command)) for name, command in commands.items()] + [
        Child(name, _spawn(command), oneshot=True) for name, command in (oneshot or {}).items()
    ]
    stopping = False

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        while not stopping:
            for child in list(children):
                if child.process.poll() is None:
                    continue
                if child.oneshot:  # done (or failed: the server runs on without it)
                    if child.process.returncode:
                        click.echo(f"candor: {child.name} failed ({child.process.returncode})")
                    children.remove(child)
                    continue
                click.echo(f"candor: {child.name} exited with {child.process.returncode}")
                code = child.process.returncode or 1
                stopping = True
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop_children(children)
    return code


def _spawn(command: list[str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603
        command, start_new_session=True, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    relay(process.stderr)
    return process


def stop_children(children: list[Child]) -> None:
    """SIGTERM (graceful: uvicorn drains, Celery finishes or requeues its task), then SIGKILL."""
    for child in children:
        if child.process.poll() is None:
            click.echo(f"candor: stopping {child.name}")
            # The leader only: it stops its own pool or worker processes in order.
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for child in children:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            click.echo(f"candor: {child.name} did not stop in time; killing it")
            _signal_group(child.process, signal.SIGKILL)
            child.process.wait()
        # Pool processes left behind by a hard exit belong to the same group.
        _signal_group(child.process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def print_demo(settings: Settings, base: str) -> list[str] | None:
    """Seed the demo (idempotent) and say how to try it. Returns the command that adds its sample
    panelists in the background, at its first start only (None after, even once removed)."""
    from web.db import make_engine, make_session_factory
    from web.demo.seed import seed_demo

    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as session:
        demo = seed_demo(session, settings)
    engine.dispose()
    password = demo.password or f"(set at first start; see {settings.data_dir}/demo-login.txt)"
    click.echo(
        "\nCandor demo — something to try at once:\n"
        f"  designer login: {base}/login   {demo.email} / {password}\n"
        f"  panelist flow:  {base}/r/{demo.integration_key}?rid=me   (on your own webcam)\n"
        '  then log in and open "Demo study" to see its results.\n'
    )
    if (settings.data_dir / DONE_FILE).exists():
        return None
    return [
        sys.executable, "-m", "web.demo.panelists", "--base", base,
        "--integration", demo.integration_key, "--study", str(demo.study_id),
    ]  # fmt: skip


def embedded_defaults(settings: Settings, base: str) -> dict[str, str]:
    """CANDOR_* variables `candor serve` sets for itself and its children when left unset: the
    address it really serves (embed snippets print it) and, in development, a random secret kept
    in the data directory (the placeholder would let anyone forge tokens and reverse hashes)."""
    extra = {}
    if "base_url" not in settings.model_fields_set:
        extra["CANDOR_BASE_URL"] = base
    if settings.environment == "development" and settings.secret_key == PLACEHOLDER_SECRET:
        extra["CANDOR_SECRET_KEY"] = _data_dir_secret(settings.data_dir)
    return extra


def _data_dir_secret(data_dir: Path) -> str:
    """The secret stored in the data directory, made (owner-only) on first use."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise click.ClickException(f"{path} holds a secret shorter than 32 characters")
    return secret
