"""The panel API's answers, made from what its services return (domain objects and rows): the
services know nothing of the JSON; the routes (web/panel/api.py, clip_api.py) hand it here."""

from __future__ import annotations

from collections.abc import Callable

from candor import ondevice
from candor.ondevice import Fallback
from web import ondevice as ondevice_assets
from web.panel.entry import IntegrationInfo
from web.panel.schemas import (
    AdOut,
    ClipOut,
    ConsentTextOut,
    IntegrationOut,
    OnDeviceOut,
    ReofferOut,
    SessionOut,
)
from web.panel.starts import Started
from web.panel.uploads import ClipState
from web.studies.models import Ad, ConsentText

# Builds the URL of an ad's video or poster ("video" / "poster") for a <video> tag.
MediaUrl = Callable[[Ad, str], str]


def consent_out(text: ConsentText) -> ConsentTextOut:
    return ConsentTextOut(
        consent_text_id=text.id,
        version=text.version,
        locale=text.locale,
        text=text.consent_text,
        instructions=text.instructions,
        sha256=text.sha256,
    )


def integration_out(info: IntegrationInfo) -> IntegrationOut:
    return IntegrationOut(
        study_name=info.study_name,
        intake=info.intake,
        locale=info.locale,
        locales=info.locales,
        consent=consent_out(info.consent),
    )


def on_device_out(on_device: bool, *, fallback: Fallback = Fallback.EXIT) -> OnDeviceOut | None:
    """What the recorder needs to read the face itself, when the session is on-device, and what
    it offers when this browser cannot (`fallback`: server mode only with its consent text)."""
    if not on_device:
        return None
    return OnDeviceOut(
        fallback=fallback.value,
        assets=ondevice_assets.ASSETS_PREFIX,
        model=f"{ondevice_assets.ASSETS_PREFIX}/{ondevice_assets.MODEL_NAME}",
        model_sha256=ondevice.MODEL_SHA256,
        library_version=ondevice.LIBRARY_VERSION,
        fps=ondevice.FPS,
        mime_type=ondevice.MIME_TYPE,
    )


def session_out(started: Started, media_url: MediaUrl) -> SessionOut:
    on_device, fallback = started.on_device, started.fallback
    return SessionOut(
        session_id=started.panel_session.public_id,
        token=started.token,
        expires_at=started.expires_at,
        locale=started.locale,
        consent=consent_out(started.consent),
        ads=[
            AdOut(
                id=ad.id,
                title=ad.title,
                duration_s=ad.duration_s,
                width=ad.width,
                height=ad.height,
                video_url=media_url(ad, "video"),
                poster_url=media_url(ad, "poster") if ad.poster_key else None,
            )
            for ad in started.ads
        ],
        return_url_template=started.integration.return_url_template,
        preview=started.panel_session.is_preview,
        recorded_ads=started.recorded,
        reoffer_ads=[ReofferOut(ad_id=cut.ad_id, chunks=cut.chunks) for cut in started.reoffer],
        resume_token=started.resume_token,
        strings=started.strings,
        on_device=on_device_out(on_device, fallback=Fallback.SERVER if fallback else Fallback.EXIT),
        fallback_consent=consent_out(fallback) if fallback and on_device else None,
    )


def clip_out(state: ClipState) -> ClipOut:
    return ClipOut(clip_id=state.clip_id, status=state.status.value, received=state.received)
