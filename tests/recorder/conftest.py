"""Browser-test fixtures: a running Candor (uvicorn + a Celery worker), Chromium, a fake webcam."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import Engine, delete

from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.recorder.helpers import Fielded, HostServer, LiveCandor
from tests.support.factories import make_integration, make_study
from web.accounts.models import Organisation
from web.studies.models import Ad

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CANDOR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECRET = "browser-test-secret-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, processes: list[subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"Candor did not become healthy at {url} in {timeout} s")


@pytest.fixture(scope="session")
def live_candor(
    pg_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveCandor]:
    """uvicorn and a solo-pool Celery worker, on their own task queue and data directory."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    data_dir = tmp_path_factory.mktemp("candor-data")
    logs = tmp_path_factory.mktemp("candor-logs")
    queue = f"candor-browser-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "CANDOR_ENVIRONMENT": "test",
        "CANDOR_SECRET_KEY": SECRET,
        "CANDOR_DATA_DIR": str(data_dir),
        "CANDOR_DATABASE_URL": TEST_DATABASE_URL,
        "CANDOR_BROKER_URL": TEST_REDIS_URL,
        "CANDOR_TASK_QUEUE": queue,
        "CANDOR_BASE_URL": base_url,
    }
    commands = {
        "web": [sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        "worker": [sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker",
                   "--pool=solo", "--concurrency=1", "-Q", queue, "--loglevel=INFO",
                   "--without-gossip", "--without-mingle", "--without-heartbeat"],
    }  # fmt: skip
    processes = []
    for name, command in commands.items():
        log = (logs / f"{name}.log").open("wb")
        processes.append(
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        )
    try:
        _wait_healthy(base_url, processes, timeout=60)
        yield LiveCandor(base_url=base_url, data_dir=data_dir, engine=pg_engine, logs=logs)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        redis.Redis.from_url(TEST_REDIS_URL).delete(queue)


@pytest.fixture(scope="session")
def host_server() -> Iterator[HostServer]:
    port = free_port()
    host = HostServer(base_url=f"http://localhost:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/return":
                host.returns.append(self.path)
                body = b"<!doctype html><title>Back in the survey</title><h1>Survey page 3</h1>"
            elif path in host.pages:
                body = host.pages[path].encode()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def face_y4m(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few seconds of a real face (skimage's astronaut) for Chromium's fake webcam; it loops.

    CANDOR_FAKE_WEBCAM_Y4M names a ready-made .y4m instead (e.g. a recording of yourself).
    """
    ready_made = os.environ.get("CANDOR_FAKE_WEBCAM_Y4M")
    if ready_made:
        return Path(ready_made)
    face_clips = pytest.importorskip(
        "tests.support.face_clips",
        reason="tests/support/face_clips.py (from branch `analysis`) is not merged yet",
    )
    path = tmp_path_factory.mktemp("webcam") / "face.y4m"
    face_clips.make_y4m(path, seconds=4, fps=15)
    return path


@pytest.fixture
def fielded_study(
    live_candor: LiveCandor, host_server: HostServer
) -> Iterator[Callable[..., Fielded]]:
    """Make committed studies for the live server; erase them after the test."""
    from tests.support.clips import make_webm

    made: list[int] = []

    def make(durations: tuple[float, ...] = (3.0, 2.0)) -> Fielded:
        with live_candor.session() as session:
            study = make_study(session)
            ads_dir = live_candor.data_dir / "ads"
            ads_dir.mkdir(parents=True, exist_ok=True)
            ad_ids = []
            for position, seconds in enumerate(durations):
                key = f"{uuid.uuid4().hex}.webm"
                data = make_webm(seconds=seconds, width=320, height=240)
                (ads_dir / key).write_bytes(data)
                ad = Ad(
                    study_id=study.id,
                    title=f"Ad {position + 1}",
                    position=position,
                    storage_key=key,
                    content_type="video/webm",
                    bytes=len(data),
                    sha256="0" * 64,
                    duration_s=seconds,
                    width=320,
                    height=240,
                )
                session.add(ad)
                session.flush()
                ad_ids.append(ad.id)
            integration = make_integration(
                session,
                study,
                passthrough_vars=["age"],
                return_url_template=(
                    f"{host_server.base_url}/return"
                    "?rid={respondent_id}&status={status}&receipt={receipt}"
                ),
            )
            session.commit()
            made.append(study.organisation_id)
            return Fielded(integration.public_key, ad_ids, study.organisation_id, integration.id)

    yield make
    with live_candor.session() as session:
        for organisation_id in made:
            session.execute(delete(Organisation).where(Organisation.id == organisation_id))
        session.commit()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def launch(playwright_driver: Any, face_y4m: Path) -> Iterator[Callable[..., Any]]:
    """Start headless Chromium with a fake webcam; camera=False leaves the permission unanswered."""
    browsers: list[Any] = []

    def start(*, camera: bool = True) -> Any:
        args = [
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={face_y4m}",
        ]
        if camera:
            args.append("--use-fake-ui-for-media-stream")  # answers the permission prompt "allow"
        browser = playwright_driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=args
        )
        browsers.append(browser)
        return browser

    yield start
    for browser in browsers:
        browser.close()
