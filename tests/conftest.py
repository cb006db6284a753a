"""Shared fixtures: real PostgreSQL, schema from Alembic, each test in a rolled-back transaction."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from candor.migrations import alembic_config
from tests.support.factories import TEST_SECRET_KEY
from tests.support.seaweed import S3Server, seaweed_s3
from web.app import create_app
from web.db import make_engine
from web.deps import get_session
from web.settings import Settings

TEST_DATABASE_URL = os.environ.get(
    "CANDOR_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_REDIS_URL = os.environ.get("CANDOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


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
