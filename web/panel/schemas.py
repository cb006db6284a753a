"""Request and response bodies of the panelist API (docs/panelist-api.md)."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from candor.statuses import ConsentDecision, PlaybackEventKind
from web.panel.locales import LanguageTag
from web.studies.signing import SIG_PATTERN

# The locale of a consent text, echoed back exactly as the API gave it (`fr`, `pt-BR`).
Locale = Annotated[
    str, Field(min_length=2, max_length=10, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")
]
# Survey values are one line: no control character at all (a CR or LF would start a new row in
# a spreadsheet; the edge guard already refuses the others everywhere).
_ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
PassthroughValue = (
    Annotated[str, Field(max_length=200, pattern=_ONE_LINE)] | int | float | bool | None
)


# A resume token as tokens.new_resume_token makes them (URL-safe base64).
_URL_SAFE = r"^[A-Za-z0-9_-]+$"


class Strict(BaseModel):
    """Unknown fields are an error, so a typo in a client is caught at once."""

    model_config = ConfigDict(extra="forbid")


class ConsentTextOut(BaseModel):
    consent_text_id: int
    version: int
    locale: str
    text: str
    instructions: str
    sha256: str


class IntegrationOut(BaseModel):
    study_name: str
    # "open", or "paused"/"closed": then starting a session answers 409 code "study_closed".
    intake: Literal["open", "paused", "closed"] = "open"
    locale: str
    locales: list[str]
    consent: ConsentTextOut


class SessionStart(Strict):
    integration: str = Field(min_length=1, max_length=64)
    respondent_id: str = Field(min_length=1, max_length=500)
    passthrough: dict[Annotated[str, Field(max_length=64, pattern=_ONE_LINE)], PassthroughValue] = (
        Field(default_factory=dict, max_length=50)
    )
    # The panelist's language as the survey tool writes it ('ZH-S', 'pt-BR'); see locales.py.
    locale: LanguageTag | None = None
    # The designer's own run from the integration page: analysed, never counted in results.
    preview: bool = False
    # The secret an earlier start of this respondent issued to their browser: with it, their
    # live session resumes; without it (or with a wrong one), a fresh session starts and
    # supersedes the live one, and nothing of that one is revealed.
    resume_token: str | None = Field(default=None, min_length=1, max_length=100, pattern=_URL_SAFE)
    # A signed respondent id (docs/panelist-api.md): `sig` = HMAC-SHA256 of
    # "integration|respondent_id|exp" under the integration's signing secret, `exp` in Unix
    # seconds. Only a signed start supersedes or erases this respondent's other sessions. The
    # recorder may carry both as pass-through values `exp` and `sig` instead.
    exp: int | None = Field(default=None, ge=0, le=2**31 - 1)
    sig: str | None = Field(default=None, pattern=SIG_PATTERN)
    # The integration page's preview token: `preview: true` needs it (or passthrough
    # `preview_token`).
    preview_token: str | None = Field(default=None, min_length=1, max_length=500)


class AdOut(BaseModel):
    id: int
    title: str
    duration_s: float
    width: int
    height: int
    video_url: str
    poster_url: str | None


class OnDeviceOut(BaseModel):
    """On-device mode (candor/ondevice.py): where the recorder finds the face reader, pinned."""

    assets: str = Field(description="Path of the pinned tasks-vision files on this server")
    model: str = Field(description="Path of the pinned face_landmarker.task on this server")
    model_sha256: str
    library_version: str
    fps: float = Field(description="Frames read per second of ad")
    mime_type: str = Field(description="The type to create this session's clips with")
    fallback: Literal["exit", "server"] = Field(
        default="exit",
        description="When this browser cannot read the face (no WebAssembly SIMD, or too slow "
        "in the preflight): 'exit' ends the session with status no_camera; 'server' asks the "
        "panelist again with `fallback_consent`, and only their agreement to it lets video be "
        "sent",
    )


class ReofferOut(BaseModel):
    ad_id: int
    chunks: int


class SessionOut(BaseModel):
    session_id: uuid.UUID
    token: str
    expires_at: datetime
    locale: str
    consent: ConsentTextOut
    ads: list[AdOut]
    return_url_template: str
    preview: bool = False
    # Resumed session: ads already recorded (in part), which the recorder does not show again.
    recorded_ads: list[int] = []
    # Resumed session: of those, the ads whose recording was cut off (a reload mid-ad) and may
    # be offered once more from the start (open the clip with `restart: true`), with the chunks
    # the server holds of each; the recorder offers one again if what was recorded of it is too
    # little to count (docs/panelist-api.md, "Resuming").
    reoffer_ads: list[ReofferOut] = []
    # Keep it (the browser alone has it) and send it with the next start of this respondent:
    # only it resumes this session. A resumed session answers the token it was resumed with.
    resume_token: str
    # The designer's translation of the recorder's interface for this locale, flat key -> text
    # (recorder_js/src/i18n.js flatStrings); None where the recorder speaks it itself.
    strings: dict[str, str] | None = None
    # Present when the study is analysed on the panelist's device: the recorder sends face
    # records instead of video (and the server accepts nothing else from this session).
    on_device: OnDeviceOut | None = None
    # On-device session whose study falls back to server mode: the server-mode consent text the
    # panelist is asked again with if this browser cannot read the face (consent to it with the
    # ordinary consent call; agreeing switches the session to video).
    fallback_consent: ConsentTextOut | None = None


class ConsentIn(Strict):
    consent_text_id: int
    text_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    locale: Locale
    decision: ConsentDecision
    reason: str | None = Field(default=None, max_length=200)


class StatusOut(BaseModel):
    status: str  # a SessionStatus, or the ClipStatus of a finished clip
    receipt_code: str | None = None


class ClipCreate(Strict):
    ad_id: int
    mime_type: str = Field(min_length=1, max_length=100)
    # Record this ad again from the start: its cut-off take is deleted (audit "restarted").
    # Allowed once per ad, for an ad the resumed session listed in `reoffer_ads`.
    restart: bool = False


class ClipOut(BaseModel):
    clip_id: uuid.UUID
    status: str
    received: list[int]


class ChunkOut(BaseModel):
    index: int
    bytes: int


class PlaybackEventIn(Strict):
    seq: int = Field(ge=0, le=1_000_000)
    kind: PlaybackEventKind
    clip_ms: float = Field(ge=0, le=24 * 3600 * 1000)
    ad_ms: float = Field(ge=0, le=24 * 3600 * 1000)

    @field_validator("clip_ms", "ad_ms")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number of milliseconds")
        return value


class EventsIn(Strict):
    events: list[PlaybackEventIn] = Field(min_length=1, max_length=1000)


class EventsOut(BaseModel):
    stored: int


class FinishIn(Strict):
    chunk_count: int = Field(ge=1, le=1_000_000)


class SessionEnd(Strict):
    # The endings a recorder reports: SessionStatus values (the service converts).
    status: Literal["complete", "no_camera", "failed"]


class PresenceClip(Strict):
    clip_id: uuid.UUID
    # Chunks recorded for the clip, every one acknowledged: nothing more will come from this page.
    chunk_count: int = Field(ge=0, le=1_000_000)
    # Its playback events not acknowledged yet (the tab's "hidden" as it closed), stored first.
    events: list[PlaybackEventIn] = Field(default_factory=list, max_length=100)


class PresenceIn(Strict):
    """The recorder's beacon when its page is hidden or goes away (`present: false`), or its
    call when a hidden page is shown again (`present: true`). navigator.sendBeacon sends no
    headers, so the session's bearer token may come in the body (text/plain or JSON)."""

    # The session's bearer token; the Authorization header may carry it instead.
    token: str | None = Field(default=None, max_length=1000)
    # The client's sequence number (its clock in ms): a message not newer than the last one
    # taken is a replay and changes nothing. Stored as a 64-bit integer.
    seq: int = Field(ge=1, le=2**53)
    present: bool
    # Only when leaving for good (the page unloads): clips to finish now from what arrived.
    clips: list[PresenceClip] = Field(default_factory=list, max_length=20)
    # The panelist withdrew on this page and the withdrawal has not been acknowledged yet: the
    # page's last word, as it goes away, is the withdrawal itself.
    withdraw: bool = False

    @model_validator(mode="after")
    def _clips_only_on_leaving(self) -> PresenceIn:
        if self.present and (self.clips or self.withdraw):
            raise ValueError("clips and withdraw come only when leaving (present: false)")
        return self


class PresenceOut(BaseModel):
    # False: nothing changed (a replay, or the session is no longer live).
    taken: bool
    queued: int = 0  # clips listed and finished now, handed to the analysis
    abandoned: int = 0  # clips listed with nothing recorded, deleted


class EraseIn(Strict):
    receipt_code: str = Field(min_length=4, max_length=64)


class ErasedOut(BaseModel):
    erased: bool
    erased_at: datetime = Field(description="When the session's data was erased (UTC)")
