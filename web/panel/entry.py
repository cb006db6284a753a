"""What a panelist sees before the camera is touched: the integration a link or embed names,
its newest consent text in the panelist's language, and the study's name and intake."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.ondevice import Fallback
from candor.statuses import ConsentDecision
from web.clips.models import ConsentRecord
from web.errors import Conflict, NotFound
from web.panel.locales import locale_candidates
from web.studies.fieldwork import intake
from web.studies.models import ConsentText, Integration, Study


def integration_by_key(session: Session, public_key: str) -> Integration:
    integration = session.scalar(select(Integration).where(Integration.public_key == public_key))
    if integration is None:
        raise NotFound("No integration has this key; check the link or embed snippet")
    return integration


def latest_consent_texts(session: Session, integration_id: int) -> dict[str, ConsentText]:
    """The newest version of the consent text in each locale."""
    texts = session.scalars(
        select(ConsentText)
        .where(ConsentText.integration_id == integration_id, ConsentText.fallback.is_(False))
        .order_by(ConsentText.locale, ConsentText.version)
    ).all()
    return {text.locale: text for text in texts}


def fallback_text(
    session: Session, study: Study, integration_id: int, locale: str
) -> ConsentText | None:
    """The server-mode text this panelist is asked again with when their browser cannot read
    the face: only in an on-device study whose fallback is server mode, and only where the
    integration has one in this locale (otherwise the polite exit, said as such)."""
    if not study.on_device or study.on_device_fallback != Fallback.SERVER:
        return None
    return session.scalar(
        select(ConsentText)
        .where(
            ConsentText.integration_id == integration_id,
            ConsentText.locale == locale,
            ConsentText.fallback.is_(True),
        )
        .order_by(ConsentText.version.desc())
        .limit(1)
    )


def agreed_fallback(session: Session, panel_session_id: int) -> ConsentText | None:
    """The server-mode fallback text this session agreed to, if it did."""
    return session.scalar(
        select(ConsentText)
        .join(ConsentRecord, ConsentRecord.consent_text_id == ConsentText.id)
        .where(
            ConsentRecord.session_id == panel_session_id,
            ConsentRecord.decision == ConsentDecision.AGREE,
            ConsentText.fallback.is_(True),
        )
        .order_by(ConsentRecord.id.desc())
        .limit(1)
    )


def choose_locale(available: dict[str, ConsentText], wanted: str | None, default: str) -> str:
    """The tag ('PT-BR' finds 'pt-BR'), else its language ('ZH-S' → 'zh'), else the default."""
    if not available:
        raise Conflict("This integration has no consent text yet")
    for candidate in [*locale_candidates(wanted, default), "en"]:
        if candidate in available:
            return candidate
    return sorted(available)[0]


@dataclass(frozen=True)
class IntegrationInfo:
    """What the recorder shows before the camera is touched (its answer: web/panel/answers.py)."""

    study_name: str
    intake: str  # "open", "paused" or "closed"
    locale: str
    locales: list[str]
    consent: ConsentText


def integration_info(*, session: Session, public_key: str, locale: str | None) -> IntegrationInfo:
    """What a panelist sees before the camera is touched: the study name and the consent text."""
    integration = integration_by_key(session, public_key)
    texts = latest_consent_texts(session, integration.id)
    chosen = choose_locale(texts, locale, integration.default_locale)
    study = session.get(Study, integration.study_id)
    assert study is not None
    return IntegrationInfo(
        study_name=study.name,
        intake=intake(session, integration),
        locale=chosen,
        locales=sorted(texts),
        consent=texts[chosen],
    )
