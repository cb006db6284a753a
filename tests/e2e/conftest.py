"""The results pages' one web process, shared by every browser test of those pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.conftest import TEST_DATABASE_URL
from tests.support import stack

# The results pages' server and the cookies the tests sign for it share this key.
SECRET = "browser-test-secret-key-0123456789-abcdefghij"


@dataclass(frozen=True)
class ResultsServer:
    base_url: str
    data_dir: Path  # the server's data directory: the tests write their ads' videos under it


@pytest.fixture(scope="session")
def results_server(
    pg_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ResultsServer]:
    """uvicorn started once per test process (a start per test cost more than most of these
    tests): each test commits its own organisation's rows and removes them afterwards."""
    data_dir = tmp_path_factory.mktemp("results-e2e") / "data"
    data_dir.mkdir()
    env = stack.candor_env(
        environment="test",
        secret_key=SECRET,
        data_dir=str(data_dir),
        database_url=TEST_DATABASE_URL,
    )
    with stack.web_server(env, data_dir.parent / "web.log") as base:
        yield ResultsServer(base, data_dir)
