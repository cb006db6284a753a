"""The app factory: tests and the CLI build an app from their own settings."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from web import (
    models,  # noqa: F401  (registers every table on Base.metadata)
    openapi,
)
from web.accounts.auth import LoginRequired
from web.accounts.views import router as accounts_router
from web.api_docs import api_description
from web.api_docs import router as api_docs_router
from web.db import make_engine, make_session_factory
from web.edge import edge_guard
from web.erasure import router as erasure_router
from web.errors import DomainError
from web.framing import NoFramingMiddleware
from web.handlers import domain_error, html_error_page, html_validation_page
from web.health import healthz
from web.help import router as help_router
from web.ondevice import router as ondevice_assets_router
from web.pages import wants_html
from web.panel.chunk_route import ChunkRoute
from web.panel.cors import PanelCORSMiddleware
from web.panel.pages import recorder_module_files
from web.panel.pages import router as recorder_pages_router
from web.panel.views import router as panel_router
from web.proxy import TrustedProxyMiddleware
from web.ratelimit import make_limiter
from web.reports.views import router as reports_router
from web.results.views import router as results_router
from web.settings import Settings
from web.studies.views import router as studies_router

WEB_DIR = Path(__file__).parent


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # /docs is served from web/api_docs.py with local assets; ReDoc would need a CDN.
    # edge_guard runs first for every route: no control characters, no integer past 32 bits.
    app = FastAPI(
        title="Candor",
        version="0.1.0",
        description=api_description(settings.base_url),
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(edge_guard)],
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.resolved_database_url, **settings.engine_options)
    app.state.session_factory = make_session_factory(app.state.engine)
    app.state.limiter = make_limiter(settings)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    # On-device mode's pinned assets live under /recorder/vendor/: before the module mount.
    app.include_router(ondevice_assets_router)
    app.mount("/recorder", recorder_module_files(), name="recorder")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(StarletteHTTPException, html_error_page)
    app.add_exception_handler(RequestValidationError, html_validation_page)
    app.add_exception_handler(DomainError, domain_error)
    app.add_middleware(PanelCORSMiddleware)
    app.add_middleware(NoFramingMiddleware, https=settings.base_url.startswith("https://"))
    # Outermost: everything after it sees the client as the trusted proxy saw it.
    app.add_middleware(TrustedProxyMiddleware, trusted_proxies=settings.trusted_proxies)
    # Ahead of all of them: well-formed chunk uploads, the hot path, answered on their own.
    app.add_middleware(ChunkRoute)
    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    # The panelist API first: routes are matched in order and chunk uploads are the hot path
    # (no other router serves paths under its prefix, so the order changes no answer).
    app.include_router(panel_router)
    app.include_router(accounts_router)
    app.include_router(studies_router)
    app.include_router(recorder_pages_router)
    app.include_router(results_router)
    app.include_router(reports_router)
    app.include_router(erasure_router)
    app.include_router(help_router)
    app.include_router(api_docs_router)
    openapi.install(app)
    return app


async def _login_required(request: Request, exc: Exception) -> Response:
    """API callers get 401; a browser asking for a page is sent to the login page."""
    if not wants_html(request):
        return await domain_error(request, exc)
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
