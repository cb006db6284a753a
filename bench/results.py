"""Benchmark: serve one ad's results when 1,000 panelists watched it.

Seeds an organisation, a study and a 30 s ad with 1,000 analysed panelists (30 seconds of
every curve metric each: attention, the 20 expressions, blinks and quality; with --emotions the
study is in emotion mode and each second also has the 9 emotion metrics; two pass-through
variables) into PostgreSQL through the same `apply_clip` the pipeline calls, starts the web app
under uvicorn, and times over HTTP, with a logged-in analyst: the aggregated curves JSON, the
same split by a variable, the ad page and the exports. Prints p50/p95/max in ms. Target
(PRODUCT.md): aggregated curves in <= 300 ms.

    .venv/bin/python bench/results.py [--database-url URL] [--panelists 1000] [--repeat 200]
        [--emotions]

The seeded rows are deleted at the end (the organisation cascades).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from candor.metrics import EMOTION_METRICS, EXPRESSION_NAMES  # noqa: E402
from candor.migrations import alembic_config  # noqa: E402
from candor.statuses import ClipStatus  # noqa: E402
from tests.support import stack  # noqa: E402
from web.accounts.auth import COOKIE_NAME, hash_password, login_cookie_value  # noqa: E402
from web.accounts.models import Membership, Organisation, Role, User  # noqa: E402
from web.clips.aggregates import apply_clip  # noqa: E402
from web.clips.models import Clip, ClipEmotionSecond, ClipSecond, PanelSession  # noqa: E402
from web.db import make_engine  # noqa: E402
from web.settings import Settings  # noqa: E402
from web.studies.models import Ad, Integration, IntegrationKind, Study  # noqa: E402

SECRET = "bench-results-secret-key-0123456789-abcdefgh"
ORG_NAME = "Results benchmark org"
SECONDS = 30


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


def seed(session: Session, panelists: int, emotions: bool = False) -> tuple[User, int]:
    """One ad with `panelists` analysed clips, each added to the aggregates by apply_clip."""
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
    ad = Ad(
        study_id=study.id, title="Thirty seconds", storage_key=f"bench-{study.id}.mp4",
        content_type="video/mp4", bytes=1, sha256="0" * 64, duration_s=SECONDS, width=640,
        height=360,
    )  # fmt: skip
    integration = Integration(
        study_id=study.id, name="Bench", kind=IntegrationKind.GENERIC,
        public_key=f"bench-{study.id}", passthrough_vars=["age", "country"],
    )  # fmt: skip
    session.add_all([ad, integration])
    session.flush()
    rng = random.Random(1)
    started = time.perf_counter()
    for i in range(panelists):
        panel_session = PanelSession(
            integration_id=integration.id, study_id=study.id, respondent_hash=f"{i:064x}",
            passthrough={"age": rng.choice(["18-24", "25-34", "35-54", "55+"]),
                         "country": rng.choice(["FR", "DE", "UK", "ES", "IT", "LU"])},
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
        apply_clip(session, clip.id, +1)
        if i % 100 == 99:
            session.commit()
            print(f"  seeded {i + 1} panelists ({time.perf_counter() - started:.1f} s)")
    session.commit()
    return user, ad.id


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
    args = parser.parse_args()

    from alembic import command

    command.upgrade(alembic_config(args.database_url), "head")
    engine = make_engine(args.database_url)
    print(f"seeding {args.panelists} panelists x {SECONDS} s through apply_clip ...")
    with Session(engine, expire_on_commit=False) as session:
        user, ad_id = seed(session, args.panelists, args.emotions)
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
        cookies = {COOKIE_NAME: login_cookie_value(settings, session, user)}
    try:
        with (
            stack.web_server(env, data_dir / "web.log") as base,
            httpx.Client(base_url=base, cookies=cookies, timeout=30) as client,
        ):
            response = client.get(f"/api/v1/ads/{ad_id}/curves")
            body = response.json()
            print(
                f"ad {ad_id}: n = {body['overall']['n']}, {len(body['seconds'])} seconds, "
                f"{len(body['overall']['curves'])} metrics, curves JSON {len(response.content)} B"
            )
            print(f"uvicorn on 127.0.0.1, {args.repeat} sequential requests each:")
            report(
                "curves JSON (everyone)",
                timings(client, f"/api/v1/ads/{ad_id}/curves", args.repeat),
            )
            report(
                "curves JSON split by country",
                timings(client, f"/api/v1/ads/{ad_id}/curves?segment=country", args.repeat),
            )
            report("ad page (HTML)", timings(client, f"/results/ads/{ad_id}", args.repeat))
            report(
                "aggregated curves CSV",
                timings(client, f"/api/v1/ads/{ad_id}/curves.csv", args.repeat),
            )
            report(
                "per-panelist CSV (30,000 rows)",
                timings(client, f"/api/v1/ads/{ad_id}/panelists.csv", max(5, args.repeat // 20)),
            )
    finally:
        with Session(engine) as session:
            session.execute(delete(Organisation).where(Organisation.name == ORG_NAME))
            session.execute(delete(User).where(User.email == "bench-analyst@example.org"))
            session.commit()
        engine.dispose()


if __name__ == "__main__":
    main()
