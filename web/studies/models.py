"""Studies, their ads, the integrations that field them and versioned consent texts."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from candor.ondevice import Fallback
from web.db import Base, utcnow


class AdOrder(enum.StrEnum):
    FIXED = "fixed"
    RANDOM = "random"


class IntegrationKind(enum.StrEnum):
    GENERIC = "generic"
    QUALTRICS = "qualtrics"
    LIMESURVEY = "limesurvey"
    SCRIPT = "script"
    IFRAME = "iframe"


class IntegrationStatus(enum.StrEnum):
    OPEN = "open"
    PAUSED = "paused"  # closed for now; the designer means to reopen it
    CLOSED = "closed"


class Study(Base):
    __tablename__ = "study"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    ad_order: Mapped[AdOrder] = mapped_column(
        Enum(AdOrder, native_enum=False, length=20), default=AdOrder.FIXED
    )
    # AI Act 5(1)(f): the designer attests panelists are not employees or students.
    attested_not_employees_or_students: Mapped[bool] = mapped_column(default=False)
    attested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    attested_at: Mapped[datetime | None]
    # Emotion inference is a separate opt-in: fielded only with consent texts that disclose it
    # (web/studies/emotion.py), and changed only before any panelist has consented.
    emotion_mode: Mapped[bool] = mapped_column(default=False)
    # On-device mode (issue 22): the panelist's browser reads the face and sends numbers only,
    # never video (candor/ondevice.py). Changed only before any panelist has consented.
    on_device: Mapped[bool] = mapped_column(default=False, server_default=false())
    # What an on-device study offers a browser that cannot read the face (candor.ondevice.
    # Fallback): a polite exit, or server mode after the panelist agrees to its own consent text.
    # May change at any time: a panelist is asked again before any video is sent.
    on_device_fallback: Mapped[Fallback] = mapped_column(
        Enum(Fallback, native_enum=False, length=10),
        default=Fallback.EXIT,
        server_default=Fallback.EXIT.name,
    )
    min_cell_size: Mapped[int] = mapped_column(default=10)
    # Fieldwork: how many usable panelists the designer wants, and whether reaching that number
    # closes every integration of the study to new panelists (sessions under way still finish).
    target_usable: Mapped[int | None]
    close_at_target: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ads: Mapped[list[Ad]] = relationship(
        back_populates="study", order_by="Ad.position", cascade="all, delete-orphan"
    )
    integrations: Mapped[list[Integration]] = relationship(
        back_populates="study", cascade="all, delete-orphan"
    )


class Ad(Base):
    """A video ad; the file lives under settings.ads_dir/storage_key."""

    __tablename__ = "ad"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    poster_key: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    duration_s: Mapped[float]
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A fresh random token each time web.clips.aggregates.apply_clip changes the ad's
    # aggregates (0: never): figures computed from them are cached under (ad, version)
    # (web/results/service.py).
    aggregate_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))

    study: Mapped[Study] = relationship(back_populates="ads")


class Integration(Base):
    """One way a study is fielded, with its own return URL and consent script."""

    __tablename__ = "integration"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[IntegrationKind] = mapped_column(
        Enum(IntegrationKind, native_enum=False, length=20)
    )
    # Unguessable public handle used in embed snippets and panelist URLs.
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    # Placeholders: {respondent_id}, {status}, {receipt}.
    return_url_template: Mapped[str] = mapped_column(Text, default="")
    passthrough_vars: Mapped[list[str]] = mapped_column(JSON, default=list)
    default_locale: Mapped[str] = mapped_column(String(10), default="en")
    # The designer's translation of the recorder's own interface, per consent locale the recorder
    # does not speak itself: {locale: {flat string key: text}} (recorder_js/src/i18n.js).
    recorder_strings: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    # Paused or closed by hand: no new panelist session starts (the recorder says so politely).
    status: Mapped[IntegrationStatus] = mapped_column(
        Enum(IntegrationStatus, native_enum=False, length=20),
        default=IntegrationStatus.OPEN,
        server_default=IntegrationStatus.OPEN.name,  # the column holds enum names
    )
    # Signing secrets for respondent ids (web/studies/signing.py), wrapped by a key derived from
    # the server secret; the previous one stays valid until the designer retires it (rotation).
    signing_secret: Mapped[str | None] = mapped_column(String(200))
    previous_signing_secret: Mapped[str | None] = mapped_column(String(200))
    # Refuse unsigned starts: the survey or panel must sign every respondent id.
    require_signature: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    study: Mapped[Study] = relationship(back_populates="integrations")
    consent_texts: Mapped[list[ConsentText]] = relationship(
        back_populates="integration", order_by="ConsentText.version"
    )


class ConsentText(Base):
    """An immutable version of an integration's consent text and instructions in one locale."""

    __tablename__ = "consent_text"
    __table_args__ = (UniqueConstraint("integration_id", "locale", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("integration.id", ondelete="CASCADE"), index=True
    )
    locale: Mapped[str] = mapped_column(String(10))
    version: Mapped[int]
    consent_text: Mapped[str] = mapped_column(Text)
    instructions: Mapped[str] = mapped_column(Text, default="")
    # sha256 of the exact text shown, so a consent record can prove what was agreed to.
    sha256: Mapped[str] = mapped_column(String(64))
    # The designer's statement, saved with this version, that the text tells panelists in plain
    # words that emotions are inferred from their face (EU AI Act art. 50(3)); a study in
    # emotion mode is fielded only when every current version says so.
    discloses_emotion: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The designer's statement that the text describes on-device analysis (the video never
    # leaves the panelist's device, and what is sent instead): only such a text is agreed to in a
    # study analysed on the device, and never in one that uploads video.
    on_device: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The server-mode text an on-device study shows a panelist whose browser cannot read the
    # face, when the study's fallback is server mode: agreed to *after* the on-device text, it
    # alone lets that session send video. Never shown as the integration's consent text.
    fallback: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    integration: Mapped[Integration] = relationship(back_populates="consent_texts")
