"""Security headers on every answer, and who may frame what (issue 19 item 6).

- Designer, analyst and report pages: a CSP of `default-src 'self'` (PAGE_CSP), no framing at
  all (`frame-ancestors 'none'`, `X-Frame-Options: DENY`: a framed login or designer page invites
  clickjacking).
- The recorder page `/r/…`: survey pages on any origin frame it, so no frame-ancestors; its CSP
  (RECORDER_CSP) lists what the recorder needs: its module and the panel API from this origin,
  the ad video, the camera preview (`blob:`/`mediastream:`), the `<style>` it puts in its own
  shadow root and the style attributes it sets (`'unsafe-inline'` for styles only), and
  WebAssembly for on-device mode (`'wasm-unsafe-eval'`, no `eval` of scripts).
- Everywhere but the panel API's hot path: `X-Content-Type-Options: nosniff`, a
  `Referrer-Policy` unless the route chose a stricter one, and HSTS when CANDOR_BASE_URL is https.
- `/api/v1/panel/` (JSON and ad media for the recorder, chunk uploads) is left as it is: JSON and
  media need no CSP, and the upload path is kept free of extra work.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The recorder page and its module are embedded in surveys on any origin.
FRAMEABLE_PREFIXES = ("/r/", "/recorder/", "/api/v1/panel/")
PANEL_API_PREFIX = "/api/v1/panel/"
RECORDER_PAGE_PREFIX = "/r/"

# The chart (uPlot on a canvas, web/static/results) needs nothing beyond 'self'; pages set a few
# style attributes (chart legends), hence 'unsafe-inline' for styles, never for scripts.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self'; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
RECORDER_CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'"
)
# The on-device face reader's Web Worker (recorder_js/src/ondevice/face-worker.js): a worker takes
# the CSP of its own script's response, so it gets one too: its modules, the model and
# WebAssembly from this origin, and no request anywhere else.
FACE_WORKER_PATH = "/recorder/ondevice/face-worker.js"
FACE_WORKER_CSP = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; "
    "worker-src 'none'; base-uri 'none'"
)
# The withdrawal service worker (recorder_js/src/withdraw-sw.js, scope /recorder/withdrawals/,
# where no page lives): its modules and the panel API on this origin, nothing else.
WITHDRAW_WORKER_PATH = "/recorder/withdraw-sw.js"
WITHDRAW_WORKER_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; worker-src 'none'; "
    "base-uri 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_REFERRER = (b"referrer-policy", b"strict-origin-when-cross-origin")


class NoFramingMiddleware:
    """Adds the security headers above (the name is kept from when it only refused framing)."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.https = https

    def _headers(self, path: str) -> list[tuple[bytes, bytes]]:
        common = [
            _NOSNIFF,
            *([(b"strict-transport-security", HSTS.encode())] if self.https else []),
        ]
        if path.startswith(RECORDER_PAGE_PREFIX):
            return [*common, (b"content-security-policy", RECORDER_CSP.encode())]
        if path == FACE_WORKER_PATH:
            return [*common, (b"content-security-policy", FACE_WORKER_CSP.encode())]
        if path == WITHDRAW_WORKER_PATH:
            return [*common, (b"content-security-policy", WITHDRAW_WORKER_CSP.encode())]
        if path.startswith(FRAMEABLE_PREFIXES):  # the recorder's module files
            return common
        return [
            *common,
            (b"x-frame-options", b"DENY"),
            (b"content-security-policy", PAGE_CSP.encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PANEL_API_PREFIX):
            await self.app(scope, receive, send)
            return
        extra = self._headers(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                # A route's own choice wins (a stricter Referrer-Policy on /r/ and shared reports).
                headers += [(k, v) for k, v in [*extra, _REFERRER] if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
