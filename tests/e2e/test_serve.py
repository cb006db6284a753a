"""`candor serve` on a fresh data directory: migrations, demo, web and worker; Ctrl-C stops all."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support import panel, stack
from tests.support.clips import make_webm, split

pytestmark = pytest.mark.slow


def test_serve_runs_the_demo_end_to_end_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = stack.free_port()
    env = stack.candor_env(data_dir=str(tmp_path / "data"))
    log = tmp_path / "serve.log"
    with log.open("wb") as handle:
        serve = subprocess.Popen(
            [sys.executable, "-m", "candor.cli", "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        stack.wait_until(lambda: _ok(f"{base}/healthz"), 90, f"candor serve ({log})")
        printed = log.read_text()
        assert "demo@candor.local" in printed
        key = re.search(r"/r/(demo-[\w-]+)\?rid=me", printed)
        assert key, printed
        with httpx.Client(base_url=base) as http:
            started = panel.start(http, key.group(1))
            panel.consent(http, started)
            clip_id = panel.open_clip(http, started)
            chunks = split(make_webm(seconds=2.0), 2)
            panel.upload(http, started, clip_id, chunks)
            finish = http.post(
                f"{panel.API}/clips/{clip_id}/finish",
                headers=started.headers,
                json={"chunk_count": len(chunks)},
            )
            assert finish.status_code == 202

            def analysed() -> bool:
                state = http.get(f"{panel.API}/clips/{clip_id}", headers=started.headers).json()
                return bool(state["status"] == "done")

            stack.wait_until(analysed, 90, f"the serve worker to analyse the clip ({log})")
    finally:
        serve.send_signal(signal.SIGINT)  # what Ctrl-C delivers to the foreground process
        try:
            code = serve.wait(timeout=40)
        finally:
            stack.stop(serve, sig=signal.SIGKILL, timeout=1)
    assert code == 0, log.read_text()[-3000:]
    assert "stopping web" in log.read_text() and "stopping worker" in log.read_text()
    assert not _ok(f"{base}/healthz")
    clips = tmp_path / "data" / "clips"
    assert [p for p in clips.rglob("*") if p.is_file()] == []


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
