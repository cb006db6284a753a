"""Browser-test fixtures: a running Candor (uvicorn + a Celery worker), Chromium, a fake webcam."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, delete, func, select

from candor.statuses import ClipStatus
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.recorder.helpers import Fielded, HostServer, LiveCandor
from tests.support import stack
from tests.support.committed import Committed
from tests.support.factories import make_integration, make_study
from web.clips.models import Clip, DeletionAudit
from web.studies.models import Ad, Study

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


@pytest.fixture(scope="session")
def live_candor(
    pg_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveCandor]:
    """uvicorn and a solo-pool Celery worker, on their own task queue and data directory."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    data_dir = tmp_path_factory.mktemp("candor-data")
    logs = tmp_path_factory.mktemp("candor-logs")
    queue = f"candor-browser-{uuid.uuid4().hex[:10]}"
    env = stack.candor_env(
        environment="test",
        secret_key=SECRET,
        data_dir=str(data_dir),
        database_url=TEST_DATABASE_URL,
        broker_url=TEST_REDIS_URL,
        task_queue=queue,
    )
    worker = stack.start_worker(env, logs / "worker.log", pool="solo")
    try:
        with stack.web_server(env, logs / "web.log") as base_url:
            yield LiveCandor(
                base_url=base_url, data_dir=data_dir, engine=pg_engine, logs=logs, task_queue=queue
            )
    finally:
        stack.stop(worker)
        redis.Redis.from_url(TEST_REDIS_URL).delete(queue)


@pytest.fixture(scope="session")
def host_server() -> Iterator[HostServer]:
    port = stack.free_port()
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

    with live_candor.session() as session:
        audits_before = session.scalar(select(func.coalesce(func.max(DeletionAudit.id), 0)))
    yield make
    # Let the worker finish with this test's clips, so nothing of it reaches the next test.
    busy = (ClipStatus.QUEUED, ClipStatus.PROCESSING)

    def settled() -> bool:
        with live_candor.session() as session:
            pending = session.scalar(
                select(func.count())
                .select_from(Clip)
                .join(Ad, Clip.ad_id == Ad.id)
                .join(Study, Ad.study_id == Study.id)
                .where(Study.organisation_id.in_(made), Clip.status.in_(busy))
            )
            return not pending

    stack.wait_until(settled, 120, "the worker to finish this test's clips")
    with live_candor.session() as session:
        # Withdrawn clips are gone, so their audit rows are found by id, not by clip.
        session.execute(delete(DeletionAudit).where(DeletionAudit.id > audits_before))
        session.commit()
    Committed(live_candor.engine).cleanup(made)


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
