"""Ad video and poster for the panelist's <video> tag, with signed query-string tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from web.ad_serving import serve
from web.errors import NotFound, Unauthorized
from web.openapi import documented
from web.panel import tokens
from web.panel.deps import SessionDep, SettingsDep, call_blocking
from web.settings import Settings
from web.studies.models import Ad

# A media link is signed for its ad: a wrong or expired token is a 401.
router = APIRouter(prefix="/api/v1/panel", tags=["panel"], responses=documented(401))


def _ad_file(
    session: Any, settings: Settings, ad_id: int, token: str, kind: str, range_header: str | None
) -> Response:
    try:
        tokens.check_media_token(settings, token, ad_id)
    except tokens.InvalidToken as exc:
        raise Unauthorized(str(exc)) from exc
    ad = session.get(Ad, ad_id)
    key = None if ad is None else (ad.storage_key if kind == "video" else ad.poster_key)
    if ad is None or key is None:
        raise NotFound(f"This ad has no {kind}")
    media_type = ad.content_type if kind == "video" else "image/jpeg"
    # Range requests are answered from either ad store, so <video> can seek.
    return serve(
        settings, key, media_type, range_header, {"Cache-Control": "private, max-age=3600"}
    )


@router.get("/ads/{ad_id}/video", name="ad_video")
async def ad_video(
    ad_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Query()],
) -> Response:
    """The ad for a panelist's <video> tag; the signed token in the query string stands in for
    the bearer header a media element cannot send."""
    return await call_blocking(
        _ad_file,
        session=session,
        settings=settings,
        ad_id=ad_id,
        token=token,
        kind="video",
        range_header=request.headers.get("range"),
    )


@router.get("/ads/{ad_id}/poster", name="ad_poster")
async def ad_poster(
    ad_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Query()],
) -> Response:
    """The ad's poster frame for the panelist's page, under the same signed token as the video."""
    return await call_blocking(
        _ad_file,
        session=session,
        settings=settings,
        ad_id=ad_id,
        token=token,
        kind="poster",
        range_header=request.headers.get("range"),
    )
