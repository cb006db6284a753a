"""The whole flow through real processes: a panelist consents and uploads a clip in chunks over
HTTP to a running server, a real Celery worker analyses it, curves exist, and no video remains.

Run on production parts (PostgreSQL + Redis) and on the embedded defaults (SQLite + kombu's
SQLAlchemy transport), the way `candor serve` runs out of the box.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from candor.migrations import upgrade_to_head
from candor.statuses import ClipStatus, DeletionReason
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.support import panel, stack
from tests.support.clips import make_webm, split
from tests.support.committed import Committed
from tests.support.factories import make_ad, make_integration, make_study
from web.clips.models import AdAggregate, Clip, ClipSecond, DeletionAudit
from web.db import make_engine
from web.settings import Settings

pytestmark = pytest.mark.slow
CLIP_SECONDS = 6


def face_clip(tmp_path: Path) -> bytes:
    """A generated face clip if the analysis's generator is here, else a plain generated clip."""
    try:
        from tests.support.face_clips import make_face_clip  # type: ignore[import-not-found]
    except ImportError:
        return make_webm(seconds=CLIP_SECONDS, fps=15, width=320, height=240)
    path = tmp_path / "face.webm"
    # live: a stream without a declared duration, as a browser's MediaRecorder writes it.
    make_face_clip(path, seconds=CLIP_SECONDS, fps=15, size=(320, 240), live=True)
    return path.read_bytes()


@dataclass
class Stack:
    settings: Settings
    env: dict[str, str]
    factory: sessionmaker[Session]


@pytest.fixture(params=["postgres+redis", "sqlite+sqla"])
def stack_parts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    data_dir = tmp_path / "data"
    secret = "e2e-secret-key-that-is-long-enough-0123456789"
    if request.param == "postgres+redis":
        pg_engine: Engine = request.getfixturevalue("pg_engine")
        queue = f"candor-e2e-{uuid.uuid4().hex[:10]}"
        settings = Settings(
            environment="test",
            secret_key=secret,
            data_dir=data_dir,
            database_url=TEST_DATABASE_URL,
            broker_url=TEST_REDIS_URL,
            task_queue=queue,
        )
        env = stack.candor_env(
            environment="test",
            secret_key=secret,
            data_dir=str(data_dir),
            database_url=TEST_DATABASE_URL,
            broker_url=TEST_REDIS_URL,
            task_queue=queue,
        )
        helper = Committed(pg_engine)
        with helper.factory() as probe:
            from web.accounts.models import Organisation

            before = set(probe.scalars(select(Organisation.id)))
        yield Stack(settings, env, helper.factory)
        with helper.factory() as probe:
            created = set(probe.scalars(select(Organisation.id))) - before
        helper.cleanup(sorted(created))
        stack.forget_queue(TEST_REDIS_URL, queue)
    else:
        settings = Settings(environment="test", secret_key=secret, data_dir=data_dir)
        upgrade_to_head(settings)
        env = stack.candor_env(environment="test", secret_key=secret, data_dir=str(data_dir))
        engine = make_engine(settings.resolved_database_url)
        yield Stack(settings, env, sessionmaker(bind=engine, expire_on_commit=False))
        engine.dispose()


def test_a_clip_goes_from_upload_to_curves_and_its_video_is_gone(
    stack_parts: Stack, tmp_path: Path
) -> None:
    settings, factory = stack_parts.settings, stack_parts.factory
    # Designer side: a study with an ad and an integration (factories until the designer API).
    with factory() as session:
        study = make_study(session, name="E2E study")
        make_ad(session, study, duration_s=float(CLIP_SECONDS))
        integration = make_integration(session, study)
        session.commit()
        public_key = integration.public_key
    video = face_clip(tmp_path)
    chunks = split(video, CLIP_SECONDS)

    worker_log, web_log = tmp_path / "worker.log", tmp_path / "web.log"
    worker = stack.start_worker(stack_parts.env, worker_log)
    try:
        with (
            stack.web_server(stack_parts.env, web_log) as base,
            httpx.Client(base_url=base) as http,
        ):
            started = panel.start(http, public_key, passthrough={"age": "25-34"})
            assert panel.consent(http, started)["status"] == "consented"
            clip_id = panel.open_clip(http, started)
            events = http.post(
                f"{panel.API}/clips/{clip_id}/events",
                headers=started.headers,
                json={"events": panel.playing_events(CLIP_SECONDS * 1000)},
            )
            assert events.status_code == 200
            # Out of order, with one chunk sent twice, as a flaky network would.
            order = [*range(1, len(chunks)), 0, 2]
            for index in order:
                response = panel.put_chunk(http, started, clip_id, index, chunks[index])
                assert response.status_code in (200, 201), response.text
            finish = http.post(
                f"{panel.API}/clips/{clip_id}/finish",
                headers=started.headers,
                json={"chunk_count": len(chunks)},
            )
            assert finish.status_code == 202, finish.text

            def analysed() -> bool:
                state = http.get(f"{panel.API}/clips/{clip_id}", headers=started.headers).json()
                return bool(state["status"] in ("done", "failed"))

            stack.wait_until(analysed, 90, f"analysis (worker log: {worker_log})")
            end = http.post(
                f"{panel.API}/sessions/{started.session_id}/end",
                headers=started.headers,
                json={"status": "complete"},
            )
            assert end.json()["status"] == "complete"
    finally:
        stack.stop(worker)

    with factory() as session:
        clip = session.scalar(select(Clip).where(Clip.public_id == uuid.UUID(clip_id)))
        assert clip is not None
        assert clip.status == ClipStatus.DONE, f"{clip.failure_reason} / {worker_log.read_text()}"
        seconds = session.scalars(select(ClipSecond).where(ClipSecond.clip_id == clip.id)).all()
        assert sorted(row.second for row in seconds) == list(range(CLIP_SECONDS))
        audits = session.scalars(
            select(DeletionAudit).where(DeletionAudit.clip_id == clip.id)
        ).all()
        assert [(a.reason, a.bytes) for a in audits] == [(DeletionReason.ANALYSED, len(video))]
        # A real face, analysed for real: usable, with attention, and in the ad's aggregates.
        assert clip.usable, clip.exclusion_reason
        assert all(row.attention is not None for row in seconds)
        cells = session.scalars(select(AdAggregate).where(AdAggregate.ad_id == clip.ad_id))
        assert {cell.segment_var for cell in cells} == {"", "age"}
    # No panelist video anywhere under the data directory (the ad itself is not panelist video).
    leftovers = [
        path
        for path in settings.data_dir.rglob("*")
        if path.is_file() and not path.is_relative_to(settings.ads_dir)
        if path.suffix in (".part", ".tmp", ".webm", ".mp4", ".mkv", ".bin")
    ]
    assert leftovers == []
    assert [p for p in settings.clips_dir.rglob("*") if p.is_file()] == []
    # The server wrote no request log and no client address (none is kept, even in logs).
    assert not re.search(r"127\.0\.0\.1:\d+ - \"", web_log.read_text())
