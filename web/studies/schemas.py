"""Shapes of what the studies API and forms accept and return, and the rules they enforce."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from candor.ondevice import Fallback
from web.studies.models import AdOrder, IntegrationKind

RETURN_URL_PLACEHOLDERS = ("respondent_id", "status", "receipt")
# Query parameters the recorder page reads itself; a pass-through variable may not shadow them.
RESERVED_VARS = frozenset(
    {
        "rid", "locale", "preview", "integration", "exp", "sig", "preview_token",
        *RETURN_URL_PLACEHOLDERS,
    }
)  # fmt: skip
MAX_PASSTHROUGH_VARS = 20
_VAR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _normalise_text(value: Any) -> Any:
    """Browsers send CRLF; store LF so the sha256 is of exactly what the recorder shows."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return value


def check_locale(value: str) -> str:
    if not _LOCALE.match(value):
        raise ValueError("use a language code such as en, fr or pt-BR")
    return value


Locale = Annotated[str, AfterValidator(check_locale)]


def check_return_url_template(value: str) -> str:
    """An http(s) URL whose only placeholders are {respondent_id}, {status} and {receipt}."""
    value = value.strip()
    if not value:
        return value
    if len(value) > 2000:
        raise ValueError("the return URL is longer than 2000 characters")
    if any(ch.isspace() for ch in value):
        raise ValueError("the return URL may not contain spaces")
    unknown = sorted({n for n in _PLACEHOLDER.findall(value) if n not in RETURN_URL_PLACEHOLDERS})
    if unknown:
        allowed = ", ".join("{" + p + "}" for p in RETURN_URL_PLACEHOLDERS)
        raise ValueError(f"unknown placeholder {{{unknown[0]}}}; use only {allowed}")
    bare = _PLACEHOLDER.sub("x", value)
    if "{" in bare or "}" in bare:
        raise ValueError("a { or } in the return URL is not part of a placeholder")
    parts = urlsplit(bare)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("the return URL must start with https:// or http:// and name a host")
    if "{" in urlsplit(value).netloc:
        raise ValueError("placeholders may appear only in the path or query, not the host")
    return value


def _split_vars(value: Any) -> Any:
    """Forms send 'age, country'; the API sends a list."""
    if isinstance(value, str):
        return [v for v in re.split(r"[\s,]+", value) if v]
    return value


def check_passthrough_vars(names: list[str]) -> list[str]:
    if len(names) > MAX_PASSTHROUGH_VARS:
        raise ValueError(f"at most {MAX_PASSTHROUGH_VARS} pass-through variables")
    seen: set[str] = set()
    for name in names:
        if not _VAR_NAME.match(name):
            raise ValueError(
                f"{name!r} is not a variable name: start with a letter, then letters, digits or _"
            )
        if name.lower() in RESERVED_VARS:
            raise ValueError(f"{name!r} is used by Candor itself; choose another name")
        if name.lower() in seen:
            raise ValueError(f"{name!r} is listed twice")
        seen.add(name.lower())
    return names


ReturnUrlTemplate = Annotated[str, AfterValidator(check_return_url_template)]
# A list, or (as forms send it) one string of names separated by commas or spaces.
PassthroughVars = Annotated[
    list[str],
    BeforeValidator(_split_vars),
    AfterValidator(check_passthrough_vars),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "string", "description": "names separated by commas or spaces"},
            ],
            "title": "Passthrough Vars",
        }
    ),
]


def _checkbox(value: Any) -> Any:
    """An HTML checkbox sends "on" when ticked (the form handler sends "" when it is not)."""
    return value in (True, "on", "true", "1", "yes") if isinstance(value, str | bool) else value


Checkbox = Annotated[bool, BeforeValidator(_checkbox)]
EMOTION_MODE_HELP = (
    "Infer emotions (joy, surprise, anger, sadness, disgust, fear, contempt, valence, engagement) "
    "from the expressions. Fielded only while every consent text of an integration discloses it; "
    "switched only before the first panelist consents"
)

ON_DEVICE_HELP = (
    "Analyse on the panelist's device: their browser reads the face and sends numbers only, "
    "never video. Smile, smirk and nose wrinkle are not measured on device; cannot be combined "
    "with emotion mode; switched only before the first panelist consents"
)


ON_DEVICE_FALLBACK_HELP = (
    "What an on-device study offers a panelist whose browser cannot read the face (no "
    "WebAssembly SIMD, or too slow in the preflight): 'exit' thanks them and returns to the "
    "survey with status no_camera, nothing recorded; 'server' asks them again, with the "
    "server-mode consent text, whether their video may be sent to the server instead. Never "
    "silent; may be changed at any time"
)


class StudyIn(BaseModel):
    name: Name
    ad_order: AdOrder = AdOrder.FIXED
    attest_not_employees_or_students: Checkbox = Field(
        description="Required: panelists are not the organisation's employees or students "
        "(EU AI Act art. 5(1)(f) bans emotion recognition at work and in education)"
    )
    emotion_mode: Checkbox = Field(default=False, description=EMOTION_MODE_HELP)
    on_device: Checkbox = Field(default=False, description=ON_DEVICE_HELP)
    on_device_fallback: Fallback = Field(default=Fallback.EXIT, description=ON_DEVICE_FALLBACK_HELP)

    @field_validator("on_device")
    @classmethod
    def _not_with_emotions(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("emotion_mode"):
            raise ValueError(
                "emotion mode needs the video on the server; a study analysed on the "
                "panelist's device cannot infer emotions"
            )
        return value

    @field_validator("attest_not_employees_or_students")
    @classmethod
    def _must_attest(cls, value: bool) -> bool:
        if not value:
            raise ValueError(
                "confirm that panelists are not your organisation's employees or students"
            )
        return value


class StudyUpdate(BaseModel):
    name: Name | None = None
    ad_order: AdOrder | None = None
    min_cell_size: int | None = Field(default=None, ge=1, le=10_000)
    emotion_mode: Checkbox | None = Field(default=None, description=EMOTION_MODE_HELP)
    on_device: Checkbox | None = Field(default=None, description=ON_DEVICE_HELP)
    on_device_fallback: Fallback | None = Field(default=None, description=ON_DEVICE_FALLBACK_HELP)


class AdOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    study_id: int
    title: str
    position: int
    content_type: str
    bytes: int
    sha256: str
    duration_s: float
    width: int
    height: int
    created_at: datetime
    video_url: str
    poster_url: str | None


class AdUpdate(BaseModel):
    title: Name


class AdOrderIn(BaseModel):
    ad_ids: list[int] = Field(description="Every ad of the study, in the new order")


class StudyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organisation_id: int
    name: str
    ad_order: AdOrder
    attested_not_employees_or_students: bool
    attested_at: datetime | None
    emotion_mode: bool
    on_device: bool
    on_device_fallback: Fallback
    min_cell_size: int
    created_at: datetime
    results_url: str


class IntegrationIn(BaseModel):
    name: Name
    kind: IntegrationKind = IntegrationKind.GENERIC
    return_url_template: ReturnUrlTemplate = ""
    passthrough_vars: PassthroughVars = Field(default_factory=list)
    default_locale: Locale = "en"


class IntegrationUpdate(BaseModel):
    name: Name | None = None
    kind: IntegrationKind | None = None
    return_url_template: ReturnUrlTemplate | None = None
    passthrough_vars: PassthroughVars | None = None
    default_locale: Locale | None = None
    # Refuse starts without a valid respondent signature (needs a signing secret first).
    require_signature: bool | None = None


class IntegrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    study_id: int
    name: str
    kind: IntegrationKind
    public_key: str
    return_url_template: str
    passthrough_vars: list[str]
    default_locale: str
    locales: list[str]
    require_signature: bool = False
    has_signing_secret: bool = Field(
        default=False, description="A signing secret exists (it is shown only when made)"
    )
    rotation_in_progress: bool = Field(
        default=False, description="The previous signing secret is still accepted"
    )
    created_at: datetime


class SigningSecretOut(BaseModel):
    """A new signing secret, shown this once: Candor cannot show it again."""

    secret: str
    previous_still_valid: bool
    algorithm: str = "HMAC-SHA256 over '{public_key}|{rid}|{exp}', hex"


ConsentBody = Annotated[
    str, BeforeValidator(_normalise_text), StringConstraints(min_length=1, max_length=20_000)
]
InstructionsBody = Annotated[
    str, BeforeValidator(_normalise_text), StringConstraints(max_length=20_000)
]


DISCLOSES_EMOTION_HELP = (
    "The designer states that this text tells panelists, in plain words, that emotions are "
    "inferred from their face (EU AI Act art. 50(3)); required of every current version for a "
    "study in emotion mode to be fielded"
)


ON_DEVICE_TEXT_HELP = (
    "The text describes on-device analysis: the video never leaves the panelist's device, and "
    "says what is sent instead. Required in a study analysed on the device, refused in any other"
)


class ConsentIn(BaseModel):
    consent_text: ConsentBody
    instructions: InstructionsBody = ""
    discloses_emotion: Checkbox = Field(default=False, description=DISCLOSES_EMOTION_HELP)
    on_device: Checkbox = Field(default=False, description=ON_DEVICE_TEXT_HELP)


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    integration_id: int
    locale: str
    version: int
    consent_text: str
    instructions: str
    sha256: str = Field(description="sha256 of consent_text as UTF-8, exactly as shown")
    discloses_emotion: bool = Field(description=DISCLOSES_EMOTION_HELP)
    on_device: bool = Field(default=False, description=ON_DEVICE_TEXT_HELP)
    fallback: bool = Field(
        default=False,
        description="The server-mode text an on-device study asks again with when a panelist's "
        "browser cannot read the face (its `on_device_fallback` is `server`); never shown as "
        "the consent text",
    )
    created_at: datetime
    created_by_id: int | None


class DisclosureGapOut(BaseModel):
    integration_id: int
    integration_name: str
    locale: str
    version: int
    reason: str


class EmotionModeOut(BaseModel):
    emotion_mode: bool
    can_switch: bool = Field(description="False once a panelist (not a preview) has consented")
    can_field: bool = Field(description="False while any gap below remains")
    gaps: list[DisclosureGapOut] = Field(
        description="Current consent versions that do not disclose emotion inference"
    )


class SnippetsOut(BaseModel):
    recommended: str = Field(description="Which snippet suits this integration's kind")
    link: str
    iframe: str
    script: str
    preview_url: str
