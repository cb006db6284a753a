"""Shared fixtures: real PostgreSQL, schema from Alembic, each test in a rolled-back transaction."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from candor.migrations import alembic_config
from tests.support import analysis_cache
from tests.support.factories import TEST_SECRET_KEY
from tests.support.seaweed import S3Server, seaweed_s3
from web.app import create_app
from web.db import make_engine
from web.deps import get_session
from web.settings import Settings

BASE_DATABASE_URL = os.environ.get(
    "CANDOR_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Under pytest-xdist (./scripts/test runs the suite on several processes) each worker gets a
# database of its own, named after the configured one: test -> test_gw0, test_gw1, ... made on
# first use (pytest_sessionstart), emptied and migrated by pg_engine like the one database of a
# run without workers. Redis is shared: every test and live stack uses queues and rate-limit
# namespaces of its own (uuid-named), so workers never see each other's keys.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def worker_database_url(url: str, worker: str) -> str:
    """The database URL of one xdist worker: the database name suffixed with the worker id."""
    if not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


TEST_DATABASE_URL = worker_database_url(BASE_DATABASE_URL, XDIST_WORKER)
TEST_REDIS_URL = os.environ.get("CANDOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def create_database(url: str) -> None:
    """Create the PostgreSQL database of `url` if it does not exist (from the server's
    `postgres` maintenance database, which every cluster has)."""
    parsed = make_url(url)
    if not parsed.get_backend_name().startswith("postgresql") or not parsed.database:
        return
    admin = create_engine(
        parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            )
            if not exists:
                try:
                    connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
                except ProgrammingError as exc:  # another run made it just now
                    if "already exists" not in str(exc):
                        raise
    finally:
        admin.dispose()


def pytest_configure(config: pytest.Config) -> None:
    """Real-clip analyses shared through the pytest cache (tests/support/analysis_cache.py): the
    controlling process (or the only one) clears out entries of older code first."""
    cache = getattr(config, "cache", None)  # None under -p no:cacheprovider: nothing is shared
    folder = cache.mkdir(analysis_cache.FOLDER_NAME) if cache is not None else None
    if folder is not None and not XDIST_WORKER:
        analysis_cache.prune(folder)
    analysis_cache.configure(folder)


def pytest_sessionstart(session: pytest.Session) -> None:
    if XDIST_WORKER:
        create_database(TEST_DATABASE_URL)


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    """A fresh schema built by the migrations, once per test run."""
    from alembic import command

    engine = make_engine(TEST_DATABASE_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    command.upgrade(alembic_config(TEST_DATABASE_URL), "head")
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(pg_engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test, commits included."""
    connection = pg_engine.connect()
    transaction = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        secret_key=TEST_SECRET_KEY,
        data_dir=tmp_path / "data",
        database_url=TEST_DATABASE_URL,
        broker_url=TEST_REDIS_URL,
        # Each test counts its own rate-limit attempts.
        rate_limit_namespace=f"test-{uuid.uuid4().hex}",
        # The idle job's session rule as loose as its clip rule, unless a test says otherwise.
        session_idle_seconds=120,
    )


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[object]:
    """The session's one Playwright driver, for every browser test (the recorder's and the
    results pages'): a second sync_playwright refuses to start inside the first one's loop."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3-compatible server (SeaweedFS) on loopback, started once, only if asked for."""
    with seaweed_s3(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


def on_s3(settings: Settings, server: S3Server, bucket: str = "candor-test") -> Settings:
    """The same settings with clips in the test server's bucket, under a prefix of their own."""
    return settings.model_copy(
        update={
            "clip_store": "s3",
            "s3_endpoint_url": server.endpoint,
            "s3_bucket": bucket,
            "s3_prefix": f"t-{uuid.uuid4().hex}/",
            "s3_region": server.region,
            "s3_access_key_id": server.access_key,
            "s3_secret_access_key": server.secret_key,
            "s3_create_bucket": True,
        }
    )


@pytest.fixture(params=["local", "s3"])
def store_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The test's settings on each clip store: the local directory, then real SeaweedFS."""
    if request.param == "local":
        return settings
    return on_s3(settings, request.getfixturevalue("s3_server"))


@pytest.fixture
def app(settings: Settings, db_session: Session) -> FastAPI:
    application = create_app(settings)

    def _session() -> Iterator[Session]:
        yield db_session

    application.dependency_overrides[get_session] = _session
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
