"""The ad's pictures along its timeline (web/studies/thumbnails.py) for its members: the JSON
list and each picture. Pictures of the ad itself only: nothing here is about a panelist."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from web.ad_serving import serve
from web.deps import SettingsDep
from web.errors import NotFound
from web.results.deps import AdDep
from web.studies import thumbnails
from web.studies.models import Ad

router = APIRouter()


class FrameOut(BaseModel):
    index: int
    time_s: float = Field(description="Ad time the picture shows (the middle of its step)")
    start_s: float = Field(description="The step of ad time it stands for: [start_s, end_s)")
    end_s: float
    url: str


class AdFrames(BaseModel):
    """Pictures of the ad along its timeline, one per step of ad time."""

    ad_id: int
    step_s: int = Field(description="Seconds of ad time per picture (1, more for a long ad)")
    frames: list[FrameOut] = Field(description="Empty if the ad's file could not be read")


def frame_url(ad: Ad, index: int) -> str:
    return f"/results/ads/{ad.id}/frames/{index}.jpg"


def frames_out(ad: Ad, found: list[thumbnails.Thumbnail]) -> AdFrames:
    return AdFrames(
        ad_id=ad.id,
        step_s=thumbnails.step_s(ad.duration_s),
        frames=[
            FrameOut(index=t.index, time_s=t.time_s, start_s=t.start_s, end_s=t.end_s,
                     url=frame_url(ad, t.index))
            for t in found
        ],
    )  # fmt: skip


@router.get("/api/v1/ads/{ad_id}/frames", response_model=AdFrames, tags=["results"])
async def ad_frames(access: AdDep, settings: SettingsDep) -> AdFrames:
    """Pictures of the ad along its timeline (extracted at upload, or now for an older ad), so a
    reader sees what was on screen at a second of the curves."""
    found = await run_in_threadpool(thumbnails.thumbnails, settings, access.ad)
    return frames_out(access.ad, found)


@router.get("/results/ads/{ad_id}/frames/{index}.jpg", include_in_schema=False)
def ad_frame(access: AdDep, settings: SettingsDep, index: int, request: Request) -> Response:
    key = thumbnails.picture_key(settings, access.ad, index)
    if key is None:
        raise NotFound("No such picture of this ad")
    return serve(
        settings, key, "image/jpeg", request.headers.get("range"),
        {"Cache-Control": "private, max-age=3600"},
    )  # fmt: skip
