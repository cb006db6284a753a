"""Where ad files live on disk, and their URLs. Reused by the panel to serve ads to panelists."""

from __future__ import annotations

from pathlib import Path

from web.settings import Settings
from web.studies.models import Ad


def _inside(root: Path, key: str) -> Path:
    """root/key, refusing any key that would leave root (keys are ours, but be sure)."""
    base = root.resolve()
    path = (base / key).resolve()
    if base not in path.parents:
        raise ValueError(f"storage key {key!r} leaves the ads directory")
    return path


def ad_file_path(settings: Settings, ad: Ad) -> Path:
    """The ad's video file."""
    return _inside(settings.ads_dir, ad.storage_key)


def ad_poster_path(settings: Settings, ad: Ad) -> Path | None:
    """The ad's poster JPEG, if it has one."""
    return _inside(settings.ads_dir, ad.poster_key) if ad.poster_key else None


def incoming_dir(settings: Settings) -> Path:
    """Uploads in progress; on the same file system as the ads so a rename finishes them."""
    path = settings.ads_dir / ".incoming"
    path.mkdir(parents=True, exist_ok=True)
    return path


def ad_video_url(ad: Ad) -> str:
    """URL of the ad's video for logged-in members of its organisation."""
    return f"/studies/{ad.study_id}/ads/{ad.id}/video"


def ad_poster_url(ad: Ad) -> str | None:
    return f"/studies/{ad.study_id}/ads/{ad.id}/poster" if ad.poster_key else None
