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
            # The demo's sample panelists are tested in tests/worker/test_demo_samples.py; here
            # they would only queue ahead of this test's clip.
            [sys.executable, "-m", "candor.cli", "serve", "--port", str(port), "--no-samples"],
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
        _snippets_name_the_served_port(base, printed)
        # A real secret, kept in the data dir, instead of the public placeholder.
        secret = tmp_path / "data" / "secret-key"
        assert secret.stat().st_mode & 0o777 == 0o600 and len(secret.read_text()) >= 32
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


def _snippets_name_the_served_port(base: str, printed: str) -> None:
    """Log in as the demo owner: the embed snippets point at this server, not port 8000."""
    password = re.search(r"demo@candor\.local / (\S+)", printed)
    assert password, printed
    with httpx.Client(base_url=base, headers={"accept": "text/html"}) as http:
        token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
        assert token
        form = {"csrf_token": token.group(1), "email": "demo@candor.local"}
        form["password"] = password.group(1)
        assert http.post("/login", data=form).status_code == 303
        page = http.get("/orgs/1").text
        for link in (r"/studies/\d+", r"/studies/\d+/integrations/\d+"):  # study, integration
            found = re.search(f'href="({link})"', page)
            assert found, page
            page = http.get(found.group(1)).text
    assert f"{base}/r/demo-" in page and f"{base}/recorder/candor-recorder.js" in page
    assert "127.0.0.1:8000" not in page


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
