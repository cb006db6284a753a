"""HTTP routes of the panel domain: the panelist API (the /r/{public_key} page is pages.py)."""

from __future__ import annotations

from fastapi import APIRouter

from web.panel.api import router as api_router
from web.panel.clip_api import router as clip_router
from web.panel.media import router as media_router

router = APIRouter()
router.include_router(api_router)
router.include_router(clip_router)
router.include_router(media_router)
