"""GET /healthz: can this process reach its database, its broker and its clip store?"""

from __future__ import annotations

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from web.clips import objects
from web.settings import Settings

TIMEOUT_S = 2


def check_database(engine: Engine) -> str:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "down"; the type says enough, URLs stay private
        return f"down ({type(exc).__name__})"
    return "ok"


def check_broker(settings: Settings) -> str:
    url = settings.resolved_broker_url
    try:
        if url.startswith(("redis://", "rediss://")):
            import redis

            client = redis.Redis.from_url(
                url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S
            )
            try:
                client.ping()
            finally:
                client.close()
        elif url.startswith("sqla+"):
            engine = create_engine(url.removeprefix("sqla+"))
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
            finally:
                engine.dispose()
        else:
            from kombu.connection import Connection

            with Connection(url, connect_timeout=TIMEOUT_S) as connection:  # type: ignore[no-untyped-call]
                connection.ensure_connection(max_retries=1)
    except Exception as exc:
        return f"down ({type(exc).__name__})"
    return "ok"


def check_clip_store(settings: Settings) -> str:
    try:
        objects.clip_store(settings).check()
    except Exception as exc:
        return f"down ({type(exc).__name__})"
    return "ok"


async def healthz(request: Request) -> JSONResponse:
    """200 when the database, the broker and the clip store answer, else 503 naming which is
    down."""
    settings: Settings = request.app.state.settings
    database = await run_in_threadpool(check_database, request.app.state.engine)
    broker = await run_in_threadpool(check_broker, settings)
    clip_store = await run_in_threadpool(check_clip_store, settings)
    healthy = database == broker == clip_store == "ok"
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": database,
        "broker": broker,
        "clip_store": clip_store,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)
