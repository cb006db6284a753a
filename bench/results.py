"""Benchmark: serve one ad's results when 1,000 (or 10,000) panelists watched it.

Seeds an organisation, a study and a 30 s ad with N analysed panelists (30 seconds of every
curve metric each: attention, the 20 expressions, blinks and quality; with --emotions the study
is in emotion mode and each second also has the 9 emotion metrics; two pass-through variables)
into PostgreSQL in bulk, through the tables the product writes: sessions, each with its consent
record (agree), and clips by multi-row inserts, the seconds by binary COPY (built by numpy; a
metric no model measures left empty, as the pipeline stores it), then the ad's aggregates in
one statement (web.clips.aggregates.rebuild_aggregates, the same cells the
pipeline's apply_clip keeps; tests/web/clips/test_rebuild.py checks they agree). --apply-clip
seeds the old way instead, through apply_clip one panelist at a time (~170 ms each).
The organisation also gets --norm-ads more ads (20 panelists each) so its norm is over many ads.
Then ANALYZE, as autovacuum would after a load this size.

Then it starts the web app under uvicorn and times over HTTP, with a logged-in analyst: the
aggregated curves JSON, the same split by a variable, the ad page, the exports (the per-panelist
CSV streamed, with the server's peak memory before and after), and the organisation norm cold,
warm, and right after one ad's aggregates changed. Prints p50/p95/max in ms. Targets
(PRODUCT.md, issue 23): curves and the split <= 300 ms p50 at 10,000 panelists; seeding
10,000 in <= 2 min; the CSV's memory flat in the number of panelists.

    .venv/bin/python bench/results.py [--database-url URL] [--panelists 1000] [--repeat 200]
        [--emotions] [--norm-ads 100] [--apply-clip]

The seeded rows are deleted at the end (the organisation cascades).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from candor.metrics import (  # noqa: E402
    CURVE_METRICS,
    EMOTION_METRICS,
    EXPRESSION_NAMES,
    NOT_MEASURED,
)
from candor.migrations import alembic_config  # noqa: E402
from candor.statuses import ClipStatus, ConsentDecision, SessionStatus  # noqa: E402
from tests.support import stack  # noqa: E402
from web.accounts.auth import COOKIE_NAME, hash_password, login_cookie_value  # noqa: E402
from web.accounts.models import Membership, Organisation, Role, User  # noqa: E402
from web.clips.aggregates import apply_clip, rebuild_aggregates  # noqa: E402
from web.clips.models import (  # noqa: E402
    Clip,
    ClipEmotionSecond,
    ClipSecond,
    ConsentRecord,
    PanelSession,
)
from web.db import make_engine  # noqa: E402
from web.settings import Settings  # noqa: E402
from web.studies.models import Ad, ConsentText, Integration, IntegrationKind, Study  # noqa: E402

SECRET = "bench-results-secret-key-0123456789-abcdefgh"
ORG_NAME = "Results benchmark org"
SECONDS = 30
Array = np.ndarray[Any, Any]
AGES = ["18-24", "25-34", "35-54", "55+"]
COUNTRIES = ["FR", "DE", "UK", "ES", "IT", "LU"]


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))


def _second(rng: random.Random, clip_id: int, ad_id: int, s: int) -> dict[str, float | int]:
    """One second of every curve metric: a smile peak at 18-21 s, the other expressions low."""
    row: dict[str, float | int] = {
        "clip_id": clip_id, "ad_id": ad_id, "second": s, "n_frames": 30,
        "attention": _unit(rng.gauss(0.8, 0.15)),
        "blinks": float(rng.random() < 0.3), "face_present": 1.0, "bystander": 0.0,
    }  # fmt: skip
    for name in EXPRESSION_NAMES:
        row[name] = _unit(rng.gauss(0.1, 0.05))
    row["smile"] = _unit(rng.gauss(0.5 if 18 <= s <= 21 else 0.2, 0.1))
    return row


def _emotion_second(rng: random.Random, clip_id: int, ad_id: int, s: int) -> dict[str, float | int]:
    row: dict[str, float | int] = {"clip_id": clip_id, "ad_id": ad_id, "second": s}
    for name in EMOTION_METRICS:
        row[name] = _unit(rng.gauss(0.15, 0.1))
    row["valence"] = max(-1.0, min(1.0, rng.gauss(0.4 if 18 <= s <= 21 else 0.0, 0.2)))
    return row


# Seconds spent in each step of the bulk seed of the measured ad.
PHASES: dict[str, float] = dict.fromkeys(
    ["sessions and consents", "clips", "seconds (COPY)", "aggregates rebuilt"], 0.0
)


@dataclass
class Seeded:
    user: User
    organisation_id: int
    study_id: int
    ad_id: int
    integration_id: int
    seconds: float  # wall time of the seed


def _organisation(session: Session, emotions: bool) -> tuple[User, Organisation, Study]:
    session.execute(delete(Organisation).where(Organisation.name == ORG_NAME))
    session.execute(delete(User).where(User.email == "bench-analyst@example.org"))
    organisation = Organisation(name=ORG_NAME)
    user = User(email="bench-analyst@example.org", password_hash=hash_password("bench-pw-123"))
    session.add_all([organisation, user])
    session.flush()
    session.add(Membership(user_id=user.id, organisation_id=organisation.id, role=Role.ANALYST))
    study = Study(organisation_id=organisation.id, name="Benchmark study", emotion_mode=emotions)
    session.add(study)
    session.flush()
    return user, organisation, study


def _ad(session: Session, study: Study, title: str) -> Ad:
    ad = Ad(
        study_id=study.id, title=title, storage_key=f"bench-{secrets.token_hex(8)}.mp4",
        content_type="video/mp4", bytes=1, sha256="0" * 64, duration_s=SECONDS, width=640,
        height=360,
    )  # fmt: skip
    session.add(ad)
    session.flush()
    return ad


def _integration(session: Session, study: Study) -> Integration:
    integration = Integration(
        study_id=study.id, name="Bench", kind=IntegrationKind.GENERIC,
        public_key=f"bench-{study.id}", passthrough_vars=["age", "country"],
    )  # fmt: skip
    session.add(integration)
    session.flush()
    text = "Bench consent text."
    session.add(
        ConsentText(
            integration_id=integration.id, locale="en", version=1, consent_text=text,
            instructions="", sha256=hashlib.sha256(text.encode()).hexdigest(),
            discloses_emotion=study.emotion_mode,
        )
    )  # fmt: skip
    session.flush()
    return integration


def _curve_block(rng: np.random.Generator, panelists: int) -> dict[str, Array]:
    """Every curve metric for `panelists` x SECONDS rows (panelist-major), as _second draws."""
    rows = panelists * SECONDS
    second = np.tile(np.arange(SECONDS), panelists)
    peak = (second >= 18) & (second <= 21)
    block = {
        "attention": np.clip(rng.normal(0.8, 0.15, rows), 0, 1),
        "blinks": (rng.random(rows) < 0.3).astype(float),
        "face_present": np.ones(rows),
        "bystander": np.zeros(rows),
    }
    for name in EXPRESSION_NAMES:
        block[name] = np.clip(rng.normal(0.1, 0.05, rows), 0, 1)
    block["smile"] = np.clip(rng.normal(np.where(peak, 0.5, 0.2), 0.1), 0, 1)
    assert sorted(block) == sorted(CURVE_METRICS)
    return block


def _emotion_block(rng: np.random.Generator, panelists: int) -> dict[str, Array]:
    rows = panelists * SECONDS
    second = np.tile(np.arange(SECONDS), panelists)
    peak = (second >= 18) & (second <= 21)
    block = {name: np.clip(rng.normal(0.15, 0.1, rows), 0, 1) for name in EMOTION_METRICS}
    block["valence"] = np.clip(rng.normal(np.where(peak, 0.4, 0.0), 0.2), -1, 1)
    return block


# PostgreSQL's binary COPY: signature, flags, header extension length; -1 fields ends it.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


def _copy(
    session: Session, table: str, clip_ids: list[int], ad_id: int, block: dict[str, Array]
) -> None:
    """COPY one row per clip and second into `table`, in PostgreSQL's binary format, built in
    one go by numpy (no Python work per row). A metric no model measures is left empty (NULL),
    as the pipeline stores it."""
    metrics = [m for m in block if m not in NOT_MEASURED]
    integers = ["clip_id", "ad_id", "second", *(["n_frames"] if table == "clip_second" else [])]
    rows = len(clip_ids) * SECONDS
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, _ in enumerate(integers):
        fields += [(f"il{i}", ">i4"), (f"i{i}", ">i4")]
    for i, _ in enumerate(metrics):
        fields += [(f"fl{i}", ">i4"), (f"f{i}", ">f8")]
    data = np.empty(rows, dtype=np.dtype(fields))
    data["count"] = len(integers) + len(metrics)
    values = {
        "clip_id": np.repeat(np.asarray(clip_ids), SECONDS),
        "ad_id": np.full(rows, ad_id),
        "second": np.tile(np.arange(SECONDS), len(clip_ids)),
        "n_frames": np.full(rows, 30),
    }
    for i, name in enumerate(integers):
        data[f"il{i}"], data[f"i{i}"] = 4, values[name]
    for i, name in enumerate(metrics):
        data[f"fl{i}"], data[f"f{i}"] = 8, block[name]
    driver = session.connection().connection.driver_connection
    sql = f"COPY {table} ({', '.join(integers + metrics)}) FROM STDIN (FORMAT BINARY)"
    with driver.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
        copy.write(_COPY_HEADER)
        view = memoryview(data.tobytes())
        step = 1 << 20
        for start in range(0, len(view), step):
            copy.write(view[start : start + step])
        copy.write(_COPY_TRAILER)


def bulk_panelists(
    session: Session,
    study: Study,
    integration: Integration,
    ad: Ad,
    panelists: int,
    emotions: bool,
    seed: int = 1,
    rebuild: bool = True,
) -> None:
    """`panelists` analysed, counted panelists of `ad` in bulk, then (``rebuild``) the ad's
    aggregates rebuilt from all its counted clips in one statement. PostgreSQL."""
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    sessions = [
        {
            "integration_id": integration.id,
            "study_id": study.id,
            "respondent_hash": secrets.token_hex(32),
            "passthrough": {"age": pick.choice(AGES), "country": pick.choice(COUNTRIES)},
            "ad_order": [ad.id],
            "status": SessionStatus.COMPLETE,
            "emotion_mode": emotions,
        }
        for _ in range(panelists)
    ]
    phase = time.perf_counter()
    session_ids = session.scalars(
        insert(PanelSession).returning(PanelSession.id, sort_by_parameter_order=True), sessions
    ).all()
    # Each panelist agreed, as the consent step records it: the results read these rows
    # (which studies show emotions, consent counts, data quality).
    consent = session.execute(
        select(ConsentText.id, ConsentText.sha256).where(
            ConsentText.integration_id == integration.id
        )
    ).one()
    session.execute(
        insert(ConsentRecord),
        [
            {"session_id": session_id, "consent_text_id": consent.id,
             "text_sha256": consent.sha256, "locale": "en", "decision": ConsentDecision.AGREE}
            for session_id in session_ids
        ],
    )  # fmt: skip
    PHASES["sessions and consents"] += time.perf_counter() - phase
    phase = time.perf_counter()
    clips = [
        {
            "session_id": session_id,
            "ad_id": ad.id,
            "mime_type": "video/webm",
            "status": ClipStatus.DONE,
            "usable": True,
            "face_found_share": 0.97,
            "aggregated": True,
        }
        for session_id in session_ids
    ]
    clip_ids = list(
        session.scalars(insert(Clip).returning(Clip.id, sort_by_parameter_order=True), clips)
    )
    PHASES["clips"] += time.perf_counter() - phase
    phase = time.perf_counter()
    _copy(session, "clip_second", clip_ids, ad.id, _curve_block(rng, panelists))
    if emotions:
        _copy(session, "clip_emotion_second", clip_ids, ad.id, _emotion_block(rng, panelists))
    PHASES["seconds (COPY)"] += time.perf_counter() - phase
    if rebuild:
        phase = time.perf_counter()
        rebuild_aggregates(session, ad.id)
        PHASES["aggregates rebuilt"] += time.perf_counter() - phase


def seed(session: Session, panelists: int, emotions: bool, norm_ads: int) -> Seeded:
    """The benchmark's organisation: the measured ad with `panelists`, in bulk, and `norm_ads`
    more ads of 20 panelists each."""
    started = time.perf_counter()
    user, organisation, study = _organisation(session, emotions)
    integration = _integration(session, study)
    ad = _ad(session, study, "Thirty seconds")
    for done in range(0, panelists, 5000):
        bulk_panelists(
            session, study, integration, ad, min(5000, panelists - done), emotions,
            seed=done + 1, rebuild=False,
        )  # fmt: skip
        session.commit()
        elapsed = time.perf_counter() - started
        print(f"  seeded {min(panelists, done + 5000)} panelists ({elapsed:.1f} s)")
    phase = time.perf_counter()
    rebuild_aggregates(session, ad.id)
    session.commit()
    PHASES["aggregates rebuilt"] += time.perf_counter() - phase
    elapsed = time.perf_counter() - started
    print("  " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in PHASES.items()))
    for i in range(norm_ads):
        other = _ad(session, study, f"Norm ad {i + 1}")
        bulk_panelists(session, study, integration, other, 20, emotions, seed=10_000_000 + i)
    session.commit()
    return Seeded(user, organisation.id, study.id, ad.id, integration.id, elapsed)


def seed_through_apply_clip(session: Session, panelists: int, emotions: bool) -> Seeded:
    """The old seed: one ad, each panelist added to the aggregates by apply_clip."""
    started = time.perf_counter()
    user, organisation, study = _organisation(session, emotions)
    integration = _integration(session, study)
    ad = _ad(session, study, "Thirty seconds")
    rng = random.Random(1)
    for i in range(panelists):
        panel_session = PanelSession(
            integration_id=integration.id, study_id=study.id, respondent_hash=f"{i:064x}",
            passthrough={"age": rng.choice(AGES), "country": rng.choice(COUNTRIES)},
            ad_order=[ad.id],
        )  # fmt: skip
        session.add(panel_session)
        session.flush()
        clip = Clip(
            session_id=panel_session.id, ad_id=ad.id, mime_type="video/webm",
            status=ClipStatus.DONE, usable=True, face_found_share=0.97,
        )  # fmt: skip
        session.add(clip)
        session.flush()
        session.execute(
            insert(ClipSecond), [_second(rng, clip.id, ad.id, s) for s in range(SECONDS)]
        )
        if emotions:
            session.execute(
                insert(ClipEmotionSecond),
                [_emotion_second(rng, clip.id, ad.id, s) for s in range(SECONDS)],
            )
        clip.aggregated = apply_clip(session, clip.id, +1) > 0
        if i % 100 == 99:
            session.commit()
            print(f"  seeded {i + 1} panelists ({time.perf_counter() - started:.1f} s)")
    session.commit()
    return Seeded(
        user, organisation.id, study.id, ad.id, integration.id, time.perf_counter() - started
    )


def timings(client: httpx.Client, url: str, repeat: int) -> list[float]:
    client.get(url).raise_for_status()  # warm up
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        out.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return out


def report(name: str, values: list[float]) -> None:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    print(
        f"{name:<34} p50 {statistics.median(values):7.1f} ms   p95 {p95:7.1f} ms   "
        f"max {values[-1]:7.1f} ms   (n={len(values)})"
    )


def _n_of(summaries: dict[str, list[dict[str, int]]], ad_id: int) -> int:
    return next(ad["n"] for ad in summaries["ads"] if ad["ad_id"] == ad_id)


def server_pid(base: str) -> int:
    """The uvicorn process serving `base` (found by its --port in /proc)."""
    port = base.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"uvicorn" in b" ".join(command) and port.encode() in command:
                return int(entry.name)
    raise RuntimeError(f"no uvicorn process on port {port}")


def memory_mb(pid: int) -> tuple[float, float]:
    """The process's resident memory now and at its peak (VmRSS, VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss, peak = (int(re.search(rf"{k}:\s+(\d+) kB", status)[1]) for k in ("VmRSS", "VmHWM"))  # type: ignore[index]
    return rss / 1024, peak / 1024


def streamed(client: httpx.Client, url: str) -> tuple[float, int, int]:
    """GET a streamed body, reading it piecewise: ms to the last byte, bytes, lines."""
    started = time.perf_counter()
    size = lines = 0
    with client.stream("GET", url) as response:
        response.raise_for_status()
        for piece in response.iter_bytes():
            size += len(piece)
            lines += piece.count(b"\n")
    return (time.perf_counter() - started) * 1000, size, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "CANDOR_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--panelists", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument(
        "--emotions", action="store_true", help="the study is in emotion mode (9 more curves)"
    )
    parser.add_argument(
        "--norm-ads", type=int, default=100, help="more ads (20 panelists each) for the norm"
    )
    parser.add_argument(
        "--apply-clip", action="store_true", help="seed through apply_clip (slow), no norm ads"
    )
    args = parser.parse_args()
    if not 1 <= args.panelists <= 100_000:
        parser.error("--panelists: 1 to 100,000")

    from alembic import command

    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    command.upgrade(alembic_config(args.database_url), "head")
    engine = make_engine(args.database_url)
    how = "apply_clip, one panelist at a time" if args.apply_clip else "bulk inserts + COPY"
    print(f"seeding {args.panelists} panelists x {SECONDS} s ({how}) ...")
    with Session(engine, expire_on_commit=False) as session:
        if args.apply_clip:
            seeded = seed_through_apply_clip(session, args.panelists, args.emotions)
        else:
            seeded = seed(session, args.panelists, args.emotions, args.norm_ads)
        # Statistics for the planner, as autovacuum gathers them some time after a load this
        # size: without them PostgreSQL plans for the empty tables it last saw (a join over
        # 10,000 sessions' consents planned as a nested loop took 13 s).
        session.execute(text("ANALYZE"))
        session.commit()
    print(
        f"seeded {args.panelists} panelists ({args.panelists * SECONDS:,} panelist-seconds) "
        f"in {seeded.seconds:.1f} s: {args.panelists / seeded.seconds:,.0f} panelists/s"
    )
    data_dir = Path(tempfile.mkdtemp(prefix="candor-bench-"))
    settings = Settings(
        environment="test", secret_key=SECRET, data_dir=data_dir, database_url=args.database_url
    )
    env = stack.candor_env(
        environment="test",
        secret_key=SECRET,
        data_dir=str(data_dir),
        database_url=args.database_url,
    )
    with Session(engine, expire_on_commit=False) as session:
        cookies = {COOKIE_NAME: login_cookie_value(settings, session, seeded.user)}
    ad_id = seeded.ad_id
    try:
        with (
            stack.web_server(env, data_dir / "web.log") as base,
            httpx.Client(base_url=base, cookies=cookies, timeout=120) as client,
        ):
            pid = server_pid(base)
            response = client.get(f"/api/v1/ads/{ad_id}/curves")
            body = response.json()
            print(
                f"ad {ad_id}: n = {body['overall']['n']}, {len(body['seconds'])} seconds, "
                f"{len(body['overall']['curves'])} metrics, curves JSON {len(response.content)} B"
            )
            print(f"uvicorn on 127.0.0.1, {args.repeat} sequential requests each:")
            curves = timings(client, f"/api/v1/ads/{ad_id}/curves", args.repeat)
            report("curves JSON (everyone)", curves)
            split = timings(client, f"/api/v1/ads/{ad_id}/curves?segment=country", args.repeat)
            report("curves JSON split by country", split)
            report("ad page (HTML)", timings(client, f"/results/ads/{ad_id}", args.repeat))
            report(
                "aggregated curves CSV",
                timings(client, f"/api/v1/ads/{ad_id}/curves.csv", args.repeat),
            )
            rows = args.panelists * SECONDS
            before_rss, before_peak = memory_mb(pid)
            csv_ms = []
            for _ in range(max(3, args.repeat // 40)):
                ms, size, lines = streamed(client, f"/api/v1/ads/{ad_id}/panelists.csv")
                csv_ms.append(ms)
            assert lines == rows + 1, f"{lines} lines for {rows} panelist-seconds"
            after_rss, after_peak = memory_mb(pid)
            report(f"per-panelist CSV ({rows:,} rows)", csv_ms)
            print(
                f"  {size / 1e6:.1f} MB, {rows / (statistics.median(csv_ms) / 1000):,.0f} rows/s; "
                f"server peak memory {before_peak:.0f} -> {after_peak:.0f} MB "
                f"(+{after_peak - before_peak:.0f} MB; resident {before_rss:.0f} -> "
                f"{after_rss:.0f} MB)"
            )
            norms_url = f"/api/v1/organisations/{seeded.organisation_id}/norms"
            summaries_url = f"/api/v1/studies/{seeded.study_id}/summaries"
            started = time.perf_counter()
            cold = client.get(norms_url)
            cold_ms = (time.perf_counter() - started) * 1000
            cold.raise_for_status()
            n_ads = cold.json()["n_ads"]
            print(
                f"org norm over {n_ads} ads, cold (every ad's summary computed, as every "
                f"request did before the cache): {cold_ms:.1f} ms"
            )
            warm = timings(client, norms_url, args.repeat)
            report(f"org norm over {n_ads} ads (cached)", warm)
            # One norm ad gets 5 more panelists: its aggregates change, its cached figures go.
            with Session(engine, expire_on_commit=False) as session:
                changed = session.scalar(
                    select(Ad).where(Ad.study_id == seeded.study_id, Ad.title == "Norm ad 1")
                )
                study = session.get(Study, seeded.study_id)
                integration = session.get(Integration, seeded.integration_id)
                if changed is not None and study is not None and integration is not None:
                    before = _n_of(client.get(summaries_url).json(), changed.id)
                    bulk_panelists(session, study, integration, changed, 5, args.emotions, 7)
                    session.commit()
                    started = time.perf_counter()
                    client.get(norms_url).raise_for_status()
                    refresh_ms = (time.perf_counter() - started) * 1000
                    after = _n_of(client.get(summaries_url).json(), changed.id)
                    assert after == before + 5, f"the cached summary was not refreshed: {after}"
                    print(
                        f"org norm right after one ad's aggregates changed: {refresh_ms:.1f} ms "
                        f"(that ad's n {before} -> {after}; cold/cached p50 "
                        f"{cold_ms / statistics.median(warm):.1f}x)"
                    )
            worst = max(statistics.median(curves), statistics.median(split))
            print(
                f"figures: curves p50 {statistics.median(curves):.1f} ms, split p50 "
                f"{statistics.median(split):.1f} ms (target <= 300 ms: "
                f"{'met' if worst <= 300 else 'NOT met'}); seed {seeded.seconds:.1f} s "
                f"(target <= 120 s at 10,000)"
            )
    finally:
        with Session(engine) as session:
            session.execute(delete(Organisation).where(Organisation.name == ORG_NAME))
            session.execute(delete(User).where(User.email == "bench-analyst@example.org"))
            session.commit()
        engine.dispose()
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
