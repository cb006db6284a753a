"""CORS for the panelist API only: the recorder runs inside survey pages on other origins.

Bearer tokens, not cookies, authenticate it, so any origin may call it without credentials;
designer and analyst pages (cookie sessions) get no CORS headers at all.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

PANEL_PREFIX = "/api/v1/panel/"


class PanelCORSMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["GET", "POST", "PUT", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Chunk-Sha256"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PANEL_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
