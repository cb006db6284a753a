"""compose.yml is valid (Debian's docker-compose parses it) and refuses to start without secrets."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = shutil.which("docker-compose")
pytestmark = pytest.mark.skipif(
    COMPOSE is None,
    reason="docker-compose is not installed (scripts/setup --dev installs it on a root machine)",
)


def _config(**secrets: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("CANDOR_SECRET_KEY", "POSTGRES_PASSWORD")
    }
    env.update(secrets)
    assert COMPOSE is not None
    return subprocess.run(
        [COMPOSE, "-f", str(ROOT / "compose.yml"), "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_compose_config_is_valid_with_the_secrets_set() -> None:
    result = _config(CANDOR_SECRET_KEY="k" * 48, POSTGRES_PASSWORD="p4ssw0rd")
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert set(services) == {"db", "redis", "web", "worker", "beat"}
    for name in ("db", "redis", "web", "worker"):
        assert "healthcheck" in services[name], f"{name} has no health check"
    # Workers scale (`--scale worker=N`): no fixed name, no published port.
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]
    env = services["worker"]["environment"]
    assert env["CANDOR_DATABASE_URL"].startswith("postgresql+psycopg://candor:p4ssw0rd@db")
    assert env["CANDOR_BROKER_URL"].startswith("redis://redis")
    # Web and workers share the data volume: chunks written by one are read by the other.
    mounts = {s: [v.split(":")[0] for v in services[s]["volumes"]] for s in ("web", "worker")}
    assert mounts["web"] == mounts["worker"] == ["candor-data"]
    command = services["web"]["command"]
    assert "--no-access-log" in (command if isinstance(command, str) else " ".join(command))


@pytest.mark.parametrize("missing", ["CANDOR_SECRET_KEY", "POSTGRES_PASSWORD"])
def test_compose_refuses_to_start_without_a_secret(missing: str) -> None:
    secrets = {"CANDOR_SECRET_KEY": "k" * 48, "POSTGRES_PASSWORD": "p4ssw0rd"}
    del secrets[missing]
    result = _config(**secrets)
    assert result.returncode != 0
    assert missing in result.stderr or "set " in result.stderr
