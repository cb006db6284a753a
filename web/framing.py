"""Who may frame Candor's pages: survey pages may frame the panelist recorder, nobody else may
frame anything (a framed login or designer page invites clickjacking)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The recorder page and its module are embedded in surveys on any origin; the panelist API
# serves them (JSON, ad media to any origin) and its upload path is kept free of extra work.
FRAMEABLE_PREFIXES = ("/r/", "/recorder/", "/api/v1/panel/")
_DENY = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
]


class NoFramingMiddleware:
    """Adds X-Frame-Options and CSP frame-ancestors to every answer outside the recorder."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(FRAMEABLE_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_DENY]
            await send(message)

        await self.app(scope, receive, send_with_headers)
