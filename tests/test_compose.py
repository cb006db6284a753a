"""compose.yml is valid (Debian's docker-compose parses it) and refuses to start without secrets."""

from __future__ import annotations

import ipaddress
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


SECRETS = ("CANDOR_SECRET_KEY", "POSTGRES_PASSWORD", "CANDOR_S3_SECRET_KEY", "CANDOR_DOMAIN")
ALL_SET = {
    "CANDOR_DOMAIN": "candor.example.org",
    "CANDOR_SECRET_KEY": "k" * 48,
    "POSTGRES_PASSWORD": "p4ssw0rd",
    "CANDOR_S3_SECRET_KEY": "s3s3cr3t",
}


def _config(**secrets: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
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
    result = _config(**ALL_SET)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert set(services) == {"proxy", "migrate", "db", "redis", "objects", "web", "worker", "beat"}
    for name in ("db", "redis", "objects", "web", "worker"):
        assert "healthcheck" in services[name], f"{name} has no health check"
    # Workers scale (`--scale worker=N`): no fixed name, no published port.
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]
    env = services["worker"]["environment"]
    assert env["CANDOR_DATABASE_URL"].startswith("postgresql+psycopg://candor:p4ssw0rd@db")
    assert env["CANDOR_BROKER_URL"].startswith("redis://redis")
    # Web and workers share no volume: chunks go to the object store, so they can be on any host.
    assert "volumes" not in services["worker"] and "volumes" not in services["beat"]
    for name in ("web", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["CANDOR_CLIP_STORE"] == "s3"
        assert env.get("CANDOR_AD_STORE", "") in ("", "s3")  # ads beside the clips
        assert env["CANDOR_S3_ENDPOINT_URL"] == "http://objects:8333"
        assert env["CANDOR_S3_SECRET_ACCESS_KEY"] == "s3s3cr3t"
        assert services[name]["depends_on"]["objects"]["condition"] == "service_healthy"
    objects = services["objects"]
    assert objects["image"].startswith("chrislusf/seaweedfs:")
    assert objects["environment"]["S3_SECRET_KEY"] == "s3s3cr3t"
    assert "-master.telemetry=false" in " ".join(objects["command"])
    command = services["web"]["command"]
    assert "--no-access-log" in (command if isinstance(command, str) else " ".join(command))
    assert "--no-proxy-headers" in (command if isinstance(command, str) else " ".join(command))


def test_a_tls_proxy_is_the_only_door_and_the_only_trusted_forwarder() -> None:
    """N web processes behind one TLS-terminating proxy: they publish nothing, scale freely,
    and believe forwarded headers from the proxy's fixed address alone."""
    config = yaml.safe_load(_config(**ALL_SET).stdout)
    services = config["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert {port["target"] for port in services["proxy"]["ports"]} == {80, 443}
    proxy_address = services["proxy"]["networks"]["candor"]["ipv4_address"]
    subnet = config["networks"]["candor"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(subnet)
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["CANDOR_TRUSTED_PROXIES"] == proxy_address  # one address, not a network
        assert env["CANDOR_BASE_URL"] == "https://candor.example.org"
        assert "container_name" not in services[name]
        # Migrations run once, before any of them starts.
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["migrate"]["command"] == ["candor", "migrate"]
    assert "migrate" not in str(services["web"]["command"])
    # The proxy's configuration: TLS for the domain, every web container behind it.
    mounts = [str(volume) for volume in services["proxy"]["volumes"]]
    assert any("deploy/Caddyfile:/etc/caddy/Caddyfile" in mount for mount in mounts)
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "{$CANDOR_DOMAIN} {" in caddyfile
    assert "dynamic a web 8000" in caddyfile and "health_uri /healthz" in caddyfile
    # The database takes every web process's pool and the workers' connections.
    assert "max_connections=200" in " ".join(services["db"]["command"])


@pytest.mark.parametrize("missing", SECRETS)
def test_compose_refuses_to_start_without_a_secret(missing: str) -> None:
    secrets = dict(ALL_SET)
    del secrets[missing]
    result = _config(**secrets)
    assert result.returncode != 0
    assert missing in result.stderr or "set " in result.stderr
