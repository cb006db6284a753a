"""A bare page for on-device mode in headless Chromium: the recorder's modules and the pinned
assets, served with the recorder page's CSP from a local server, plus any extra files (frames).
Used by tests/recorder/test_browser_ondevice_parity.py and bench/ondevice.py."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from web.framing import FACE_WORKER_CSP, FACE_WORKER_PATH, RECORDER_CSP
from web.ondevice import ASSETS, ASSETS_PREFIX, MODEL_NAME, asset_bytes

SRC = Path(__file__).resolve().parents[2] / "recorder_js" / "src"
PAGE = """<!doctype html><meta charset="utf-8"><title>on-device</title>
<script type="module" src="/page.js"></script>"""
# What a page script passes to OnDeviceAnalyser as the session's `on_device`.
CONFIG = {
    "assets": ASSETS_PREFIX,
    "model": f"{ASSETS_PREFIX}/{MODEL_NAME}",
    "model_sha256": ASSETS[MODEL_NAME].sha256,
}


def serve(page_js: str, files: Mapping[str, tuple[bytes, str]] | None = None) -> Any:
    """Start the server (a daemon thread); returns it, with ``base_url``. Stop: ``shutdown()``."""
    extra = dict(files or {})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            headers = {"Cache-Control": "no-cache"}
            if path == "/":
                body, kind = PAGE.encode(), "text/html"
                headers["Content-Security-Policy"] = RECORDER_CSP
            elif path == "/page.js":
                body, kind = page_js.encode(), "text/javascript"
            elif path in extra:
                body, kind = extra[path]
            elif path.startswith(ASSETS_PREFIX + "/") and path.rsplit("/", 1)[1] in ASSETS:
                name = path.rsplit("/", 1)[1]
                body, kind = asset_bytes(name), ASSETS[name].media_type
            elif path.startswith("/recorder/") and (SRC / path[len("/recorder/") :]).is_file():
                body, kind = (SRC / path[len("/recorder/") :]).read_bytes(), "text/javascript"
                if path == FACE_WORKER_PATH:  # as web/framing.py serves it
                    headers["Content-Security-Policy"] = FACE_WORKER_CSP
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
