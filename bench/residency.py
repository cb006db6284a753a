"""Residency benchmark: how long a clip's video stays on disk, against upload + analysis + 5 s.

Starts a web server and Celery worker(s) on 127.0.0.1 (PostgreSQL + Redis), uploads K generated
face clips in ~1 s chunks at real-time pace (all at once by default, or staggered), finishes
them, and for each clip reads the server's own timestamps (finished_at, processing_started_at,
analysed_at, video_deleted_at) while a poller watches the clip store: the local directory every
few ms, or (--store s3) a SeaweedFS started on loopback, listed every 50 ms.

    .venv/bin/python bench/residency.py --clips 5 --seconds 10 [--workers 1] [--stagger 0] \
        [--store s3]

Per clip: upload (first chunk sent → finish acknowledged), queue wait (finished_at → a worker
claims it), analysis (claim → curves saved), deletion lag (curves saved → last file gone), when
files were last seen and first found gone relative to video_deleted_at, and residency (first
file on disk → last file gone) minus upload and analysis, against the 5 s budget (PRODUCT.md).
Loopback only; bounded in clips, length and time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import add_service_args, ensure_database, refuse_non_loopback  # noqa: E402
from candor.migrations import upgrade_to_head  # noqa: E402
from tests.support import stack  # noqa: E402
from tests.support.clips import split  # noqa: E402
from tests.support.face_clips import calm_script, make_face_clip  # noqa: E402
from tests.support.factories import make_ad, make_integration, make_study  # noqa: E402
from tests.support.seaweed import seaweed_s3  # noqa: E402
from web import models  # noqa: E402
from web.accounts.models import Organisation  # noqa: E402
from web.clips import objects  # noqa: E402
from web.clips.models import Clip, DeletionAudit  # noqa: E402
from web.settings import Settings  # noqa: E402

API = "/api/v1/panel"
BUDGET_S = 5.0
MAX_CLIPS, MAX_SECONDS, MAX_WORKERS = 20, 60, 4
POLL_S = 0.005
S3_POLL_S = 0.05  # one LIST per watched clip per poll: coarser against the object store


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=5, help="clips uploaded (one per panelist)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each clip")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT of the clips")
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes")
    parser.add_argument(
        "--store",
        choices=["local", "s3"],
        default="local",
        help="clip store: the local directory, or a SeaweedFS (S3) started on loopback",
    )
    parser.add_argument(
        "--stagger", type=float, default=0.0, help="seconds between panelists starting"
    )
    add_service_args(parser)
    args = parser.parse_args()
    if not 1 <= args.clips <= MAX_CLIPS or not 2 <= args.seconds <= MAX_SECONDS:
        parser.error(f"1..{MAX_CLIPS} clips of 2..{MAX_SECONDS} s")
    if not 1 <= args.workers <= MAX_WORKERS or not 0 <= args.stagger <= 60:
        parser.error(f"1..{MAX_WORKERS} workers, a stagger of 0..60 s")
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size is WIDTHxHEIGHT, not {args.size!r}")
    args.dimensions = (width, height)
    refuse_non_loopback(parser, args.database_url, args.redis_url)
    return args


@dataclass
class Watched:
    """What the poller saw of one clip directory (wall-clock seconds, time.time())."""

    first_file: float | None = None
    last_file: float | None = None
    gone: float | None = None


class StorePoller:
    """Watch clips in the clip store every poll_s: when a chunk first appears and the last goes."""

    def __init__(self, has_chunks: Callable[[str], bool], poll_s: float) -> None:
        self.has_chunks = has_chunks
        self.poll_s = poll_s
        self.watched: dict[str, Watched] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def watch(self, public_id: str) -> None:
        self.watched[public_id] = Watched()

    def run(self) -> None:
        while not self.stop.is_set():
            now = time.time()
            for public_id, seen in list(self.watched.items()):
                if seen.gone is not None:
                    continue
                if self.has_chunks(public_id):
                    seen.first_file = seen.first_file or now
                    seen.last_file = now
                elif seen.first_file is not None:
                    seen.gone = now
            time.sleep(self.poll_s)


@dataclass
class Upload:
    public_id: str = ""
    first_sent: float = 0.0
    last_ack: float = 0.0
    finish_ack: float = 0.0
    errors: list[str] = field(default_factory=list)


async def panelist(
    http: httpx.AsyncClient,
    key: str,
    number: int,
    chunks: list[bytes],
    seconds: int,
    delay: float,
    poller: StorePoller,
) -> Upload:
    """One panelist: consent, record at real-time pace (a chunk a second), events, finish."""
    await asyncio.sleep(delay)
    up = Upload()
    started = (
        await http.post(
            f"{API}/sessions",
            json={"integration": key, "respondent_id": f"residency-{number}", "passthrough": {}},
        )
    ).json()
    headers = {"Authorization": f"Bearer {started['token']}"}
    consent = started["consent"]
    await http.post(
        f"{API}/sessions/{started['session_id']}/consent",
        headers=headers,
        json={
            "consent_text_id": consent["consent_text_id"],
            "text_sha256": consent["sha256"],
            "locale": consent["locale"],
            "decision": "agree",
        },
    )
    opened = await http.post(
        f"{API}/sessions/{started['session_id']}/clips",
        headers=headers,
        json={"ad_id": started["ads"][0]["id"], "mime_type": "video/webm"},
    )
    up.public_id = opened.json()["clip_id"]
    poller.watch(up.public_id)
    # MediaRecorder hands over each chunk a second after the recording covered it.
    begin = time.monotonic()
    up.first_sent = time.time()
    for index, data in enumerate(chunks):
        await asyncio.sleep(max(0.0, begin + index * seconds / len(chunks) - time.monotonic()))
        answer = await http.put(
            f"{API}/clips/{up.public_id}/chunks/{index}",
            headers={**headers, "Content-Type": "application/octet-stream"},
            content=data,
        )
        if answer.status_code not in (200, 201):
            up.errors.append(f"chunk {index}: {answer.status_code} {answer.text[:100]}")
    up.last_ack = time.time()
    events = [
        {"seq": 0, "kind": "start", "clip_ms": 0, "ad_ms": 0},
        {"seq": 1, "kind": "end", "clip_ms": seconds * 1000, "ad_ms": seconds * 1000},
    ]
    await http.post(f"{API}/clips/{up.public_id}/events", headers=headers, json={"events": events})
    finish = await http.post(
        f"{API}/clips/{up.public_id}/finish", headers=headers, json={"chunk_count": len(chunks)}
    )
    up.finish_ack = time.time()
    if finish.status_code != 202:
        up.errors.append(f"finish: {finish.status_code} {finish.text[:100]}")
    return up


async def run_panelists(
    base: str, key: str, args: argparse.Namespace, chunks: list[bytes], poller: StorePoller
) -> list[Upload]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        return await asyncio.gather(
            *(
                panelist(http, key, n, chunks, args.seconds, n * args.stagger, poller)
                for n in range(args.clips)
            )
        )


def epoch(moment: datetime | None) -> float | None:
    return moment.astimezone(UTC).timestamp() if moment is not None else None


@dataclass
class Row:
    status: str
    upload: float
    wait: float
    analysis: float
    deletion_lag: float
    seen_after: float  # last poll that saw a file, minus video_deleted_at (> 0: seen after it)
    gone_after: float  # first poll that saw none, minus video_deleted_at (an upper bound)
    residency: float

    @property
    def overhead(self) -> float:
        """Residency beyond upload + analysis: what the 5 s budget bounds."""
        return self.residency - (self.upload + self.analysis)


def measure(
    engine_url: str, uploads: list[Upload], poller: StorePoller, deadline: float
) -> dict[str, Row]:
    """Wait for every clip to be analysed and its files gone, then read its timestamps."""
    engine = create_engine(engine_url)
    ids = {uuid.UUID(up.public_id): up for up in uploads}
    rows: dict[str, Row] = {}
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                clips = session.scalars(select(Clip).where(Clip.public_id.in_(ids))).all()
            settled = [c for c in clips if c.video_deleted_at is not None]
            if len(settled) == len(ids) and all(
                poller.watched[str(c.public_id)].gone is not None for c in settled
            ):
                break
            time.sleep(0.2)
        else:
            raise SystemExit("timed out waiting for the clips to be analysed and deleted")
        time.sleep(3 * POLL_S)
        for clip in clips:
            up, seen = ids[clip.public_id], poller.watched[str(clip.public_id)]
            started, analysed = epoch(clip.processing_started_at), epoch(clip.analysed_at)
            finished, deleted = epoch(clip.finished_at), epoch(clip.video_deleted_at)
            assert started and analysed and deleted and finished and seen.gone
            assert seen.first_file is not None and seen.last_file is not None
            rows[str(clip.public_id)] = Row(
                status=clip.status.value,
                upload=up.finish_ack - up.first_sent,
                wait=started - finished,
                analysis=analysed - started,
                deletion_lag=seen.gone - analysed,
                seen_after=seen.last_file - deleted,
                gone_after=seen.gone - deleted,
                residency=seen.gone - seen.first_file,
            )
    finally:
        engine.dispose()
    return rows


def cleanup(url: str, organisation_id: int) -> None:
    engine = create_engine(url)
    with Session(engine) as session:
        clip_ids = select(Clip.id).where(
            Clip.ad_id.in_(
                select(models.Ad.id)
                .join(models.Study, models.Ad.study_id == models.Study.id)
                .where(models.Study.organisation_id == organisation_id)
            )
        )
        session.execute(delete(DeletionAudit).where(DeletionAudit.clip_id.in_(clip_ids)))
        session.execute(delete(Organisation).where(Organisation.id == organisation_id))
        session.commit()
    engine.dispose()


def report(args: argparse.Namespace, rows: dict[str, Row], uploads: list[Upload]) -> None:
    print(
        f"{args.clips} clips of {args.seconds} s ({args.size}, {args.fps} fps), "
        f"stagger {args.stagger:g} s, {args.workers} worker process(es); "
        f"load average {os.getloadavg()[0]:.1f} (other processes included)"
    )
    header = (
        "clip      status  upload   wait  analysis  del.lag  seen_after  gone_after  residency"
        "  over  ok"
    )
    print(header)
    for n, up in enumerate(uploads):
        row = rows[up.public_id]
        ok = "yes" if row.overhead <= BUDGET_S else "NO"
        print(
            f"{n:<4}{up.public_id[:5]} {row.status:>6} {row.upload:7.2f} {row.wait:6.2f} "
            f"{row.analysis:9.2f} {row.deletion_lag:8.3f} {row.seen_after:11.3f} "
            f"{row.gone_after:11.3f} {row.residency:10.2f} {row.overhead:5.2f}  {ok}"
        )
    values = list(rows.values())

    def summary(name: str, pick: list[float]) -> str:
        return f"{name} mean {statistics.fmean(pick):.2f} max {max(pick):.2f}"

    print(
        "summary (s): "
        + "; ".join(
            [
                summary("queue wait", [r.wait for r in values]),
                summary("analysis", [r.analysis for r in values]),
                summary("deletion lag", [r.deletion_lag for r in values]),
                summary("residency - (upload + analysis)", [r.overhead for r in values]),
            ]
        )
    )
    over = [r for r in values if r.overhead > BUDGET_S]
    seen_after = [r for r in values if r.seen_after > 0]
    print(
        f"budget {BUDGET_S:g} s: {len(values) - len(over)}/{len(values)} clips within; "
        f"a file seen after video_deleted_at: {len(seen_after)} clip(s)"
        + (f", up to {max(r.seen_after for r in seen_after) * 1000:.0f} ms" if seen_after else "")
        + f"; all files gone within {max(r.gone_after for r in values) * 1000:.0f} ms of it "
        f"(polled every {(POLL_S if args.store == 'local' else S3_POLL_S) * 1000:.0f} ms)"
    )
    if over:
        worst = max(over, key=lambda r: r.overhead)
        print(
            f"over budget: queue wait up to {max(r.wait for r in over):.2f} s with "
            f"{args.workers} worker(s) for {args.clips} clips finishing "
            f"{'at once' if args.stagger == 0 else f'{args.stagger:g} s apart'}; the worst "
            f"exceeds it by {worst.overhead - BUDGET_S:.2f} s. Waiting in the queue is a "
            f"capacity question: about one worker per clip finishing within one analysis time."
        )
    for up in uploads:
        for error in up.errors:
            print(f"  {up.public_id[:8]}: {error}")


def main() -> None:
    args = parse_args()
    ensure_database(args.database_url)
    work = Path(tempfile.mkdtemp(prefix="candor-residency-"))
    data_dir = work / "data"
    queue = f"candor-residency-{uuid.uuid4().hex[:8]}"
    services = contextlib.ExitStack()
    store_env: dict[str, str] = {}
    if args.store == "s3":
        print("starting SeaweedFS (S3) on loopback...", flush=True)
        (work / "s3").mkdir()
        server = services.enter_context(seaweed_s3(work / "s3"))
        store_env = {
            "clip_store": "s3",
            "s3_endpoint_url": server.endpoint,
            "s3_bucket": "candor-residency",
            "s3_access_key_id": server.access_key,
            "s3_secret_access_key": server.secret_key,
            "s3_create_bucket": "true",
        }
    settings = Settings(
        environment="test",
        secret_key="residency-bench-secret-key-long-enough-0123",
        data_dir=data_dir,
        database_url=args.database_url,
        broker_url=args.redis_url,
        task_queue=queue,
        **store_env,  # type: ignore[arg-type]
    )
    env = stack.candor_env(
        environment="test",
        secret_key=settings.secret_key,
        data_dir=str(data_dir),
        database_url=args.database_url,
        broker_url=args.redis_url,
        task_queue=queue,
        **store_env,
    )
    upgrade_to_head(settings)
    clip_path = work / "face.webm"
    print(f"generating a {args.seconds} s face clip ({args.size}, {args.fps} fps)...", flush=True)
    make_face_clip(
        clip_path,
        calm_script(float(args.seconds)),
        seconds=float(args.seconds),
        fps=args.fps,
        size=args.dimensions,
        live=True,
    )
    chunks = split(clip_path.read_bytes(), args.seconds)
    engine = create_engine(args.database_url)
    with Session(engine) as session:
        study = make_study(session, name="Residency benchmark")
        make_ad(session, study, duration_s=float(args.seconds))
        integration = make_integration(session, study)
        session.commit()
        organisation_id, key = study.organisation_id, integration.public_key
    engine.dispose()

    workers = [stack.start_worker(env, work / f"worker-{n}.log") for n in range(args.workers)]
    store = objects.clip_store(settings)
    poller = StorePoller(
        lambda public_id: bool(store.indices(public_id)),
        POLL_S if args.store == "local" else S3_POLL_S,
    )
    poller.thread.start()
    try:
        with stack.web_server(env, work / "web.log") as base:
            # A short warm-up clip per worker, not measured: the first analysis in a process
            # loads the face model, which a serving worker has done long ago.
            print("warming up the worker(s)...", flush=True)
            warm = argparse.Namespace(
                **{**vars(args), "clips": args.workers, "stagger": 0.0, "seconds": 2}
            )
            warmed = asyncio.run(run_panelists(base, key, warm, chunks[:2], poller))
            measure(args.database_url, warmed, poller, time.monotonic() + 180)
            print(f"uploading {args.clips} clips at real-time pace...", flush=True)
            uploads = asyncio.run(run_panelists(base, key, args, chunks, poller))
            bound = args.clips * (args.seconds * 3 + 30) / args.workers + 120
            rows = measure(args.database_url, uploads, poller, time.monotonic() + bound)
    finally:
        poller.stop.set()
        for worker in workers:
            stack.stop(worker)
        cleanup(args.database_url, organisation_id)
        stack.forget_queue(args.redis_url, queue)
        services.close()
        shutil.rmtree(work, ignore_errors=True)
    report(args, rows, uploads)


if __name__ == "__main__":
    main()
