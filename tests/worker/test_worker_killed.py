"""A worker killed in the middle of an analysis: the clip is analysed exactly once and its video
deleted. Real worker processes; with Redis the task is redelivered, with the embedded broker
(which cannot redeliver) the expired claim is found by the requeue job (`candor sweep`)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from candor.migrations import upgrade_to_head
from candor.statuses import ClipStatus, DeletionReason
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.support import stack, stored
from tests.support.clips import make_webm, split
from tests.support.committed import Committed
from tests.support.factories import TEST_SECRET_KEY, make_clip
from web.accounts.models import Organisation
from web.clips.models import AdAggregate, Chunk, Clip, ClipSecond, DeletionAudit
from web.clips.queue import enqueue_analysis
from web.db import make_engine
from web.settings import Settings

pytestmark = pytest.mark.slow


@dataclass
class Parts:
    name: str
    env_settings: dict[str, str]
    factory: sessionmaker[Session]

    @property
    def settings(self) -> Settings:
        return Settings(**self.env_settings)  # type: ignore[arg-type]


@pytest.fixture(params=["redis", "embedded"])
def parts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Parts]:
    common = {
        "environment": "test",
        "secret_key": TEST_SECRET_KEY,  # the key make_clip wraps data keys with
        "data_dir": str(tmp_path / "data"),
    }
    if request.param == "redis":
        pg_engine: Engine = request.getfixturevalue("pg_engine")
        queue = f"candor-kill-{uuid.uuid4().hex[:10]}"
        env_settings = {
            **common,
            "database_url": TEST_DATABASE_URL,
            "broker_url": TEST_REDIS_URL,
            "task_queue": queue,
            # Redis hands an unacknowledged task to another worker after this many seconds.
            "broker_visibility_timeout_seconds": "2",
        }
        helper = Committed(pg_engine)
        with helper.factory() as probe:
            before = set(probe.scalars(select(Organisation.id)))
        yield Parts("redis", env_settings, helper.factory)
        with helper.factory() as probe:
            helper.cleanup(sorted(set(probe.scalars(select(Organisation.id))) - before))
        stack.forget_queue(TEST_REDIS_URL, queue)
    else:
        # A claim older than this is taken to belong to a dead worker.
        env_settings = {**common, "analysis_lease_seconds": "10"}
        upgrade_to_head(Settings(**env_settings))  # type: ignore[arg-type]
        engine = make_engine(Settings(**env_settings).resolved_database_url)  # type: ignore[arg-type]
        yield Parts("embedded", env_settings, sessionmaker(bind=engine, expire_on_commit=False))
        engine.dispose()


def _queued_clip(parts: Parts, video: bytes) -> Clip:
    settings = parts.settings
    with parts.factory() as session:
        rows = make_clip(session)
        for index, data in enumerate(split(video, 3)):
            stored.put_plain(settings, rows.clip, index, data)
            session.add(Chunk(clip_id=rows.clip.id, index=index, bytes=len(data), sha256="0" * 64))
        rows.clip.status, rows.clip.expected_chunks = ClipStatus.QUEUED, 3
        session.commit()
        return rows.clip


def _status(parts: Parts, clip_id: int) -> ClipStatus | None:
    with parts.factory() as probe:
        clip = probe.get(Clip, clip_id)
        return clip.status if clip else None


def test_killed_mid_task_the_clip_is_analysed_once_and_its_video_deleted(
    parts: Parts, tmp_path: Path
) -> None:
    settings = parts.settings
    video = make_webm(seconds=3.0)
    clip = _queued_clip(parts, video)
    started_file = tmp_path / "started"
    env = stack.candor_env(**parts.env_settings)
    env.update(CANDOR_TEST_STARTED_FILE=str(started_file), CANDOR_TEST_ANALYSIS_DELAY="120")

    assert enqueue_analysis(settings, clip.id)
    doomed = stack.start_worker(env, tmp_path / "doomed.log", app="tests.worker.slow_worker")
    stack.wait_until(started_file.exists, 60, "the first worker to start the analysis")
    claimed_at = time.monotonic()
    assert _status(parts, clip.id) == ClipStatus.PROCESSING
    with parts.factory() as probe:
        first_token = probe.get(Clip, clip.id).processing_token  # type: ignore[union-attr]
    # The machine dies: the whole worker (main process and pool) is killed at once.
    stack.stop(doomed, sig=signal.SIGKILL, timeout=5)
    assert stored.has_video(settings, clip.public_id)

    survivor_log = tmp_path / "survivor.log"
    env["CANDOR_TEST_ANALYSIS_DELAY"] = "0"
    survivor = stack.start_worker(env, survivor_log, app="tests.worker.slow_worker")
    try:
        if parts.name == "embedded":
            # The embedded broker lost the task with the worker; once the claim has expired,
            # the periodic requeue job (here run once by `candor sweep`) sends it again.
            lease = int(parts.env_settings["analysis_lease_seconds"])
            time.sleep(max(0.0, claimed_at + lease + 1 - time.monotonic()))
            assert _status(parts, clip.id) == ClipStatus.PROCESSING  # nobody took it over yet
            swept = subprocess.run(
                [sys.executable, "-m", "candor.cli", "sweep"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
                timeout=60,
            )
            with parts.factory() as probe:
                token = probe.get(Clip, clip.id).processing_token  # type: ignore[union-attr]
            # Either this run handed the expired claim over, or the survivor's own requeue at
            # start did, when its start outlasted the lease (a loaded machine): the same job.
            assert "requeue: 1 clip(s)" in swept.stdout or token != first_token, swept.stderr
        stack.wait_until(
            lambda: _status(parts, clip.id) == ClipStatus.DONE,
            90,
            f"the task to be analysed again (log: {survivor_log})",
        )
    finally:
        stack.stop(survivor)

    with parts.factory() as probe:
        done = probe.get(Clip, clip.id)
        assert done is not None and done.status == ClipStatus.DONE
        if parts.name == "redis":  # the same task, redelivered — not a second one
            assert done.processing_token == first_token
        audits = probe.scalars(select(DeletionAudit).where(DeletionAudit.clip_id == clip.id)).all()
        assert [(a.reason, a.bytes) for a in audits] == [(DeletionReason.ANALYSED, len(video))]
        seconds = probe.scalars(select(ClipSecond).where(ClipSecond.clip_id == clip.id)).all()
        assert len(seconds) == len({row.second for row in seconds}) > 0
        cells = probe.scalars(select(AdAggregate).where(AdAggregate.ad_id == done.ad_id)).all()
        assert all(cell.n <= 1 for cell in cells)
    assert not stored.has_video(settings, clip.public_id)
    assert len(started_file.read_text().split()) == 2  # started twice, finished once
