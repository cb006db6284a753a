"""Ingest benchmark: N panelists upload 30 one-second chunks each, at once, at real-time pace.

Starts a server on 127.0.0.1 backed by PostgreSQL and Redis (or targets a running one with
--target), prints throughput, chunk acknowledgement latency (p50/p99) and lost chunks, checked
on the server side (rows and files). Loopback only; bounded in panelists, chunks and time.

Then (unless --no-baseline) the same load against a bare server in the same run: uvicorn with
the same workers and an ASGI app that reads and hashes each body and answers 201, nothing
else (`bare_app`). Its CPU per chunk is the floor no chunk route can go under on this machine
at this moment; the ratio to it is steadier than either figure on a shared, noisy machine.

    .venv/bin/python bench/ingest.py --panelists 200
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import redis
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from candor.migrations import upgrade_to_head  # noqa: E402
from tests.support.factories import make_ad, make_integration, make_study  # noqa: E402
from web import models  # noqa: E402, F401
from web.accounts.models import Organisation  # noqa: E402
from web.clips.models import Chunk, Clip, DeletionAudit, PanelSession  # noqa: E402
from web.settings import Settings  # noqa: E402
from web.studies.models import Study  # noqa: E402

API = "/api/v1/panel"
MAX_PANELISTS, MAX_CHUNKS = 1000, 120
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0)  # like the recorder: 5xx and network errors only


class Connection:
    """A minimal keep-alive HTTP/1.1 client for the chunk PUTs.

    httpx costs several milliseconds of CPU per 100 KB request, and the load generator shares
    the two cores with the server it measures; this costs a fraction of that, so the figures
    describe the server. Session setup and finishing still go through httpx.
    """

    def __init__(self, base: str) -> None:
        parsed = urlparse(base)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def put(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"PUT {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"Content-Length: {len(body)}", "Content-Type: application/octet-stream"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        try:
            self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            await self.writer.drain()
            status = int((await self.reader.readline()).split()[1])
            length = 0
            while (line := await self.reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            return status, await self.reader.readexactly(length)
        except (OSError, IndexError, ValueError, asyncio.IncompleteReadError):
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.writer = None


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    acked: int = 0
    retries: int = 0
    failed: list[str] = field(default_factory=list)
    clip_ids: dict[str, int] = field(default_factory=dict)  # clip public id → chunks acked


def add_service_args(parser: argparse.ArgumentParser) -> None:
    """The PostgreSQL and Redis a benchmark's server runs on (loopback only)."""
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "CANDOR_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/candor_bench"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("CANDOR_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )


def refuse_non_loopback(parser: argparse.ArgumentParser, *urls: str | None) -> None:
    """Benchmarks send traffic to this machine only."""
    for url in urls:
        host = urlparse(url.replace("+psycopg", "")).hostname if url else "127.0.0.1"
        if host not in ("127.0.0.1", "localhost", "::1"):
            parser.error(f"loopback only: {url}")


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The baseline server: read and hash the body, answer 201 (and /healthz 200)."""
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        return
    digest = hashlib.sha256()
    more = True
    while more:
        message = await receive()
        digest.update(message.get("body", b""))
        more = message.get("more_body", False)
    body = b'{"index":0,"bytes":0}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"21")]
    status = 201 if scope["method"] == "PUT" else 200
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panelists", type=int, default=200)
    parser.add_argument("--chunks", type=int, default=30, help="chunks per panelist (1 per second)")
    parser.add_argument("--chunk-kb", type=int, default=100)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between chunks")
    parser.add_argument("--web-workers", type=int, default=2, help="uvicorn processes")
    parser.add_argument("--db-pool", type=int, default=8, help="pool size per web process")
    parser.add_argument("--target", help="base URL of a running server on 127.0.0.1 instead")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the bare server's run (see above)"
    )
    add_service_args(parser)
    args = parser.parse_args()
    if not 1 <= args.panelists <= MAX_PANELISTS or not 1 <= args.chunks <= MAX_CHUNKS:
        parser.error(f"at most {MAX_PANELISTS} panelists and {MAX_CHUNKS} chunks each")
    refuse_non_loopback(parser, args.target, args.database_url, args.redis_url)
    return args


def ensure_database(url: str) -> None:
    """Create the benchmark database if it does not exist (PostgreSQL on loopback)."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
        )
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def start_server(
    settings_env: dict[str, str], workers: int, app: str = "web.app:create_app"
) -> tuple[subprocess.Popen[bytes], str]:
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
    env.update(settings_env, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += [*(["--factory"] if app.endswith("create_app") else []), "--no-access-log"]
    command += ["--workers", str(workers)]
    command += ["--log-level", "warning"]
    process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise SystemExit("the server did not become healthy within 60 s")


@dataclass
class Panelist:
    number: int
    session_id: str
    headers: dict[str, str]
    clip_id: str


async def _post(http: httpx.AsyncClient, url: str, **kwargs: object) -> httpx.Response:
    """Setup calls, retried like the recorder retries them (5xx and network errors)."""
    for delay in (0.0, *RETRY_DELAYS):
        await asyncio.sleep(delay)
        try:
            response = await http.post(url, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError:
            continue
        if response.status_code < 500:
            return response
    raise SystemExit(f"setup call {url} kept failing")


async def set_up(http: httpx.AsyncClient, key: str, number: int) -> Panelist:
    """A panelist arrives: session, consent, a clip for the first ad."""
    started = (
        await _post(
            http,
            f"{API}/sessions",
            json={"integration": key, "respondent_id": f"bench-{number}", "passthrough": {}},
        )
    ).json()
    headers = {"Authorization": f"Bearer {started['token']}"}
    consent = started["consent"]
    await _post(
        http,
        f"{API}/sessions/{started['session_id']}/consent",
        headers=headers,
        json={
            "consent_text_id": consent["consent_text_id"],
            "text_sha256": consent["sha256"],
            "locale": consent["locale"],
            "decision": "agree",
        },
    )
    clip = await _post(
        http,
        f"{API}/sessions/{started['session_id']}/clips",
        headers=headers,
        json={"ad_id": started["ads"][0]["id"], "mime_type": "video/webm"},
    )
    return Panelist(number, started["session_id"], headers, clip.json()["clip_id"])


async def record(
    base: str, one: Panelist, args: argparse.Namespace, stats: Stats, pool: bytes, start: float
) -> None:
    """One panelist recording: a chunk every interval, each PUT as soon as it is 'recorded'."""
    size = args.chunk_kb * 1024
    connection = Connection(base)
    stats.clip_ids[one.clip_id] = 0
    # Panelists do not start in lockstep: spread them over the first interval.
    begin = start + random.random() * args.interval
    for index in range(args.chunks):
        await asyncio.sleep(max(0.0, begin + index * args.interval - time.monotonic()))
        offset = (one.number * 7919 + index * 104729) % (len(pool) - size)
        body = index.to_bytes(4, "big") + pool[offset : offset + size - 4]
        if await put_chunk(connection, one.headers, one.clip_id, index, body, stats):
            stats.clip_ids[one.clip_id] += 1
    connection.close()


async def put_chunk(
    connection: Connection,
    headers: dict[str, str],
    clip_id: str,
    index: int,
    body: bytes,
    stats: Stats,
) -> bool:
    """PUT one chunk, retrying 5xx and network errors; latency is send to acknowledgement."""
    headers = {**headers, "X-Chunk-Sha256": hashlib.sha256(body).hexdigest()}
    for attempt, delay in enumerate((0.0, *RETRY_DELAYS)):
        await asyncio.sleep(delay)
        sent = time.perf_counter()
        try:
            status, answer = await connection.put(
                f"{API}/clips/{clip_id}/chunks/{index}", headers, body
            )
        except (OSError, IndexError, ValueError, asyncio.IncompleteReadError) as exc:
            stats.retries += 1
            if attempt == len(RETRY_DELAYS):
                stats.failed.append(f"chunk {index}: {type(exc).__name__}")
            continue
        if status in (200, 201):
            stats.latencies.append(time.perf_counter() - sent)
            stats.acked += 1
            return True
        if status < 500:
            stats.failed.append(f"chunk {index}: {status} {answer[:120]!r}")
            return False
        stats.retries += 1
    return False


def verify(args: argparse.Namespace, stats: Stats, data_dir: Path | None) -> int:
    """Chunks missing on the server, as rows or (when we run the server) as files: the lost."""
    engine = create_engine(args.database_url)
    lost = 0
    with Session(engine) as session:
        for public_id in stats.clip_ids:
            clip = session.scalar(select(Clip).where(Clip.public_id == uuid.UUID(public_id)))
            rows = 0
            if clip is not None:
                rows = session.scalar(select(func.count()).where(Chunk.clip_id == clip.id)) or 0
            lost += args.chunks - rows
            if data_dir is not None:
                files = len(list((data_dir / "clips" / public_id).glob("*.part")))
                lost += max(0, rows - files)
    lost += (args.panelists - len(stats.clip_ids)) * args.chunks  # sessions that never started
    engine.dispose()
    return lost


def cleanup(args: argparse.Namespace, organisation_id: int, queue: str) -> None:
    engine = create_engine(args.database_url)
    with Session(engine) as session:
        clip_ids = session.scalars(
            select(Clip.id)
            .join(PanelSession, Clip.session_id == PanelSession.id)
            .join(Study, PanelSession.study_id == Study.id)
            .where(Study.organisation_id == organisation_id)
        ).all()
        session.execute(DeletionAudit.__table__.delete().where(DeletionAudit.clip_id.in_(clip_ids)))
        session.execute(Organisation.__table__.delete().where(Organisation.id == organisation_id))
        session.commit()
    engine.dispose()
    client = redis.Redis.from_url(args.redis_url)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


def tree_cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU of a process and its children (the uvicorn workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    user, system, pending = 0.0, 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            user += int(fields[11]) / tick
            system += int(fields[12]) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return user, system


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


@dataclass
class Phase:
    wall: float
    server_cpu: tuple[float, float] | None  # user, system
    client_cpu: float


async def run_load(
    base: str, key: str | None, args: argparse.Namespace, stats: Stats, server_pid: int | None
) -> Phase:
    """Set every panelist up, then measure the recording phase alone, then finish the clips.
    No integration key: the bare server, whose panelists need no set-up and finish nothing."""
    pool = os.urandom(4 * 1024 * 1024)
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as http:
        gate = asyncio.Semaphore(20)

        async def arrive(number: int) -> Panelist:
            async with gate:
                return await set_up(http, key, number)

        if key is None:
            panelists = [
                Panelist(n, str(uuid.uuid4()), {"Authorization": "Bearer x"}, str(uuid.uuid4()))
                for n in range(args.panelists)
            ]
        else:
            panelists = await asyncio.gather(*(arrive(n) for n in range(args.panelists)))
        server_before = tree_cpu_seconds(server_pid) if server_pid else (0.0, 0.0)
        client_before = time.process_time()
        began = time.monotonic()
        await asyncio.wait_for(
            asyncio.gather(*(record(base, p, args, stats, pool, began) for p in panelists)),
            timeout=args.chunks * args.interval + 120,
        )
        server_cpu = None
        if server_pid:
            user, system = tree_cpu_seconds(server_pid)
            server_cpu = (user - server_before[0], system - server_before[1])
        phase = Phase(
            wall=time.monotonic() - began,
            server_cpu=server_cpu,
            client_cpu=time.process_time() - client_before,
        )

        async def finish(one: Panelist) -> None:
            async with gate:
                answer = await _post(
                    http,
                    f"{API}/clips/{one.clip_id}/finish",
                    headers=one.headers,
                    json={"chunk_count": args.chunks},
                )
                if answer.status_code != 202:
                    stats.failed.append(f"finish {answer.status_code}: {answer.text[:200]}")

        if key is not None:
            await asyncio.gather(*(finish(p) for p in panelists))
        return phase


def main() -> None:
    args = parse_args()
    ensure_database(args.database_url)
    data_dir = Path(tempfile.mkdtemp(prefix="candor-bench-"))
    queue = f"candor-bench-{uuid.uuid4().hex[:8]}"
    settings_env = {
        "CANDOR_ENVIRONMENT": "test",
        "CANDOR_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
        "CANDOR_DATA_DIR": str(data_dir),
        "CANDOR_DATABASE_URL": args.database_url,
        "CANDOR_BROKER_URL": args.redis_url,
        "CANDOR_TASK_QUEUE": queue,
        "CANDOR_DB_POOL_SIZE": str(args.db_pool),
        "CANDOR_DB_MAX_OVERFLOW": str(args.db_pool),
        "CANDOR_MAX_CHUNK_BYTES": str(max(args.chunk_kb * 2048, 1024 * 1024)),
        # A clip is bounded by its ad (web/clips/bounds.py): the ad lasts one second a chunk
        # (below), and a chunk's bytes are one second's, whatever --chunk-kb and --interval.
        "CANDOR_CLIP_MAX_BITRATE_BPS": str(max(4_000_000, args.chunk_kb * 8192 * 2)),
        # Every simulated panelist starts from 127.0.0.1: one client, as far as limits go.
        "CANDOR_SESSION_STARTS_PER_CLIENT_PER_MINUTE": str(10 * args.panelists),
    }
    settings = Settings(
        environment="test",
        secret_key=settings_env["CANDOR_SECRET_KEY"],
        data_dir=data_dir,
        database_url=args.database_url,
        broker_url=args.redis_url,
    )
    upgrade_to_head(settings)
    engine = create_engine(args.database_url)
    with Session(engine) as session:
        study = make_study(session, name="Ingest benchmark")
        make_ad(session, study, duration_s=float(args.chunks))  # one chunk a recorded second
        integration = make_integration(session, study)
        session.commit()
        organisation_id, key = study.organisation_id, integration.public_key
    engine.dispose()

    server = None
    base = args.target
    if base is None:
        server, base = start_server(settings_env, args.web_workers)
    stats = Stats()
    try:
        phase = asyncio.run(run_load(base, key, args, stats, server.pid if server else None))
        lost = verify(args, stats, data_dir if server else None)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        cleanup(args, organisation_id, queue)
        shutil.rmtree(data_dir, ignore_errors=True)
    bare: tuple[Stats, Phase] | None = None
    if server is not None and not args.no_baseline:
        bare_server, bare_base = start_server({}, args.web_workers, "bench.ingest:bare_app")
        try:
            bare_stats = Stats()
            bare = (
                bare_stats,
                asyncio.run(run_load(bare_base, None, args, bare_stats, bare_server.pid)),
            )
        finally:
            bare_server.terminate()
            bare_server.wait(timeout=30)

    total, wall = args.panelists * args.chunks, phase.wall
    megabytes = stats.acked * args.chunk_kb / 1024
    ms = [x * 1000 for x in stats.latencies]
    print(
        f"panelists {args.panelists} x {args.chunks} chunks of {args.chunk_kb} KB "
        f"every {args.interval:g} s; web workers {args.web_workers}, db pool {args.db_pool}"
    )
    print(
        f"acked {stats.acked}/{total} chunks in {wall:.1f} s: "
        f"{stats.acked / wall:.1f} chunks/s, {megabytes / wall:.1f} MB/s"
    )
    print(
        f"ack latency ms: p50 {percentile(ms, 0.50):.1f}  p90 {percentile(ms, 0.90):.1f}  "
        f"p99 {percentile(ms, 0.99):.1f}  max {max(ms, default=float('nan')):.1f}  "
        f"mean {statistics.fmean(ms) if ms else float('nan'):.1f}"
    )
    print(f"retries {stats.retries}; refused {len(stats.failed)}; lost (server-side) {lost}")
    if phase.server_cpu is not None:
        user, system = phase.server_cpu
        per_chunk = 1000 * (user + system) / max(1, stats.acked)
        print(
            f"CPU while recording: server {user + system:.1f} s ({per_chunk:.2f} ms per chunk; "
            f"user {user:.1f} s, system {system:.1f} s), load generator {phase.client_cpu:.1f} s; "
            f"machine load average {os.getloadavg()[0]:.1f} (other processes included)"
        )
    if bare is not None and bare[1].server_cpu is not None and phase.server_cpu is not None:
        bare_stats, bare_phase = bare
        assert bare_phase.server_cpu is not None
        floor = 1000 * sum(bare_phase.server_cpu) / max(1, bare_stats.acked)
        candor = 1000 * sum(phase.server_cpu) / max(1, stats.acked)
        bare_ms = [x * 1000 for x in bare_stats.latencies]
        print(
            f"bare server, same load: {floor:.2f} ms CPU per chunk, ack p50 "
            f"{percentile(bare_ms, 0.50):.1f} p99 {percentile(bare_ms, 0.99):.1f} ms; "
            f"Candor/bare CPU per chunk {candor / floor:.2f}x, Candor above bare "
            f"{candor - floor:.2f} ms per chunk"
        )
    for line in stats.failed[:10]:
        print(f"  {line}")


if __name__ == "__main__":
    main()
