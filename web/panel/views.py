"""HTTP routes of the panel domain: the panelist API (the /r/{public_key} page is pages.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from web.panel.api import router as api_router
from web.panel.deps import error_response
from web.panel.errors import PanelError
from web.panel.media import router as media_router

router = APIRouter()
router.include_router(api_router)
router.include_router(media_router)


async def panel_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Refused panelist requests: `{"detail": ...}` plus any extra fields, with their status."""
    assert isinstance(exc, PanelError)
    return error_response(exc)
