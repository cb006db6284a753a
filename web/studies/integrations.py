"""Integrations and their versioned consent texts. A consent text is never edited in place."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from web.accounts.models import Organisation, User
from web.errors import Conflict, Invalid
from web.settings import Settings
from web.studies import signing
from web.studies.consent_defaults import DEFAULT_LOCALES, default_consent
from web.studies.models import ConsentText, Integration, Study
from web.studies.schemas import ConsentIn, IntegrationIn, IntegrationUpdate


def consent_sha256(text: str) -> str:
    """The fingerprint a consent record carries: sha256 of the text's UTF-8 bytes, as shown."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def create_integration(
    *, session: Session, study: Study, user: User, data: IntegrationIn
) -> Integration:
    """A new integration with default consent texts in English and French (version 1 each)."""
    if data.default_locale not in DEFAULT_LOCALES:
        raise Invalid(
            f"a new integration starts in {' or '.join(DEFAULT_LOCALES)}; "
            "add other languages after creating it",
            field="default_locale",
        )
    integration = Integration(
        study_id=study.id,
        name=data.name,
        kind=data.kind,
        public_key=secrets.token_urlsafe(16),
        return_url_template=data.return_url_template,
        passthrough_vars=data.passthrough_vars,
        default_locale=data.default_locale,
    )
    session.add(integration)
    session.flush()
    organisation = session.get(Organisation, study.organisation_id)
    organisation_name = organisation.name if organisation else "the study team"
    for locale in DEFAULT_LOCALES:
        texts = default_consent(
            locale,
            organisation=organisation_name,
            contact=user.email,
            emotions=study.emotion_mode,
            on_device=study.on_device,
        )
        session.add(
            _version(
                integration,
                locale,
                1,
                ConsentIn(
                    consent_text=texts.consent_text,
                    instructions=texts.instructions,
                    discloses_emotion=texts.discloses_emotion,
                    on_device=texts.on_device,
                ),
                user,
            )
        )
    session.flush()
    if study.on_device:
        add_fallback_texts(session=session, integration=integration, user=user)
    session.commit()
    return integration


def add_fallback_texts(*, session: Session, integration: Integration, user: User) -> None:
    """Give the integration the default server-mode fallback text (consent_defaults, `fallback`)
    in each default locale it has a consent text in and no fallback text yet. The caller commits.

    An on-device study whose fallback is server mode asks a panelist whose browser cannot read
    the face again with this text; a locale without one offers the polite exit instead."""
    have = set(fallback_consents(session=session, integration=integration))
    mains = current_consents(session=session, integration=integration)
    study = integration.study
    organisation = session.get(Organisation, study.organisation_id)
    organisation_name = organisation.name if organisation else "the study team"
    for locale in DEFAULT_LOCALES:
        if locale in have or locale not in mains:
            continue
        texts = default_consent(
            locale, organisation=organisation_name, contact=user.email, fallback=True
        )
        data = ConsentIn(consent_text=texts.consent_text, instructions=texts.instructions)
        version = _next_version(session, integration, locale)
        text = _version(integration, locale, version, data, user)
        text.fallback = True
        session.add(text)
    session.flush()


def add_study_fallback_texts(*, session: Session, study: Study, user: User) -> None:
    """After a study is switched to on-device mode: every integration has its fallback texts."""
    if not study.on_device:
        return
    for integration in study.integrations:
        add_fallback_texts(session=session, integration=integration, user=user)
    session.commit()


def fallback_consents(*, session: Session, integration: Integration) -> dict[str, ConsentText]:
    """The latest server-mode fallback text in each locale (add_fallback_texts)."""
    rows = session.scalars(
        select(ConsentText)
        .where(ConsentText.integration_id == integration.id, ConsentText.fallback.is_(True))
        .order_by(ConsentText.locale, ConsentText.version)
    )
    return {text.locale: text for text in rows}


def new_fallback_version(
    *, session: Session, integration: Integration, locale: str, data: ConsentIn, user: User
) -> ConsentText:
    """Save an edit of the server-mode fallback text in `locale` as its next version (the same
    rules as a consent text: never edited in place, an unchanged text makes none).

    Refused (Conflict) for a study not analysed on the device (it has no fallback); refused
    (Invalid) for a text marked as describing on-device analysis (the fallback is the one text
    under which the video IS sent) and for a locale without a consent text (the fallback is
    asked only after a panelist read that one)."""
    if not integration.study.on_device:
        raise Conflict(
            "only a study analysed on the panelist's device has a fallback text",
            code="not_on_device",
        )
    if data.on_device:
        raise Invalid(
            "the fallback text asks whether the video may be sent to the server: it cannot be "
            "marked as describing on-device analysis",
            field="on_device",
        )
    if locale not in current_consents(session=session, integration=integration):
        raise Invalid(
            f"write the consent text in {locale!r} first: the fallback text is asked only after it",
            field="locale",
        )
    versions = consent_versions(
        session=session, integration=integration, locale=locale, fallback=True
    )
    current = versions[0] if versions else None
    if (
        current is not None
        and current.consent_text == data.consent_text
        and current.instructions == data.instructions
        and current.discloses_emotion == data.discloses_emotion
    ):
        return current
    text = _version(integration, locale, _next_version(session, integration, locale), data, user)
    text.fallback = True
    session.add(text)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            "someone saved this text at the same moment; reload and retry", code="edit_race"
        ) from exc
    return text


def _next_version(session: Session, integration: Integration, locale: str) -> int:
    """Versions are numbered per locale over the integration's texts and fallback texts alike."""
    latest = session.scalar(
        select(func.max(ConsentText.version)).where(
            ConsentText.integration_id == integration.id, ConsentText.locale == locale
        )
    )
    return (latest or 0) + 1


def update_integration(
    *, session: Session, integration: Integration, data: IntegrationUpdate
) -> Integration:
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    locale = changes.get("default_locale")
    if locale is not None and locale not in current_consents(
        session=session, integration=integration
    ):
        raise Invalid(
            f"write a consent text in {locale!r} before making it the default",
            field="default_locale",
        )
    if changes.get("require_signature") and integration.signing_secret is None:
        raise Conflict(
            "make a signing secret before requiring signed respondent ids",
            code="no_signing_secret",
            field="require_signature",
        )
    for name, value in changes.items():
        setattr(integration, name, value)
    session.commit()
    return integration


def rotate_signing_secret(*, session: Session, settings: Settings, integration: Integration) -> str:
    """A new signing secret for the integration, returned once (web/studies/signing.py)."""
    secret = signing.rotate_secret(settings, integration)
    session.commit()
    return secret


def retire_previous_signing_secret(*, session: Session, integration: Integration) -> None:
    signing.retire_previous_secret(integration)
    session.commit()


def _version(
    integration: Integration, locale: str, version: int, data: ConsentIn, user: User | None
) -> ConsentText:
    return ConsentText(
        integration_id=integration.id,
        locale=locale,
        version=version,
        consent_text=data.consent_text,
        instructions=data.instructions,
        discloses_emotion=data.discloses_emotion,
        on_device=data.on_device,
        sha256=consent_sha256(data.consent_text),
        created_by_id=user.id if user else None,
    )


def current_consents(*, session: Session, integration: Integration) -> dict[str, ConsentText]:
    """The latest version in each locale, default locale first."""
    latest = (
        select(ConsentText.locale, func.max(ConsentText.version).label("version"))
        .where(ConsentText.integration_id == integration.id, ConsentText.fallback.is_(False))
        .group_by(ConsentText.locale)
        .subquery()
    )
    rows = session.scalars(
        select(ConsentText)
        .join(
            latest,
            (ConsentText.locale == latest.c.locale) & (ConsentText.version == latest.c.version),
        )
        .where(ConsentText.integration_id == integration.id, ConsentText.fallback.is_(False))
    )
    texts = sorted(rows, key=lambda t: (t.locale != integration.default_locale, t.locale))
    return {text.locale: text for text in texts}


def latest_consent(
    *, session: Session, integration: Integration, locale: str
) -> ConsentText | None:
    """The version a panelist sees in `locale` now, or None if there is no text in it."""
    return session.scalar(
        select(ConsentText)
        .where(
            ConsentText.integration_id == integration.id,
            ConsentText.locale == locale,
            ConsentText.fallback.is_(False),
        )
        .order_by(ConsentText.version.desc())
        .limit(1)
    )


def consent_versions(
    *, session: Session, integration: Integration, locale: str, fallback: bool = False
) -> list[ConsentText]:
    """Every version in `locale` (of the server-mode fallback text with `fallback`), newest
    first; old versions stay readable forever."""
    return list(
        session.scalars(
            select(ConsentText)
            .where(
                ConsentText.integration_id == integration.id,
                ConsentText.locale == locale,
                ConsentText.fallback.is_(fallback),
            )
            .order_by(ConsentText.version.desc())
        )
    )


def new_consent_version(
    *, session: Session, integration: Integration, locale: str, data: ConsentIn, user: User
) -> ConsentText:
    """Save an edit as the next version; an unchanged text (and disclosure mark) makes none."""
    current = latest_consent(session=session, integration=integration, locale=locale)
    if (
        current is not None
        and current.consent_text == data.consent_text
        and current.instructions == data.instructions
        and current.discloses_emotion == data.discloses_emotion
        and current.on_device == data.on_device
    ):
        return current
    text = _version(integration, locale, _next_version(session, integration, locale), data, user)
    session.add(text)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            "someone saved this text at the same moment; reload and retry", code="edit_race"
        ) from exc
    return text
