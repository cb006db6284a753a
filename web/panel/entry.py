"""What a panelist sees before the camera is touched: the integration a link or embed names,
its newest consent text in the panelist's language, and the study's name and intake."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from web.errors import Conflict, NotFound
from web.panel.locales import locale_candidates
from web.panel.schemas import ConsentTextOut, IntegrationOut
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
        .where(ConsentText.integration_id == integration_id)
        .order_by(ConsentText.locale, ConsentText.version)
    ).all()
    return {text.locale: text for text in texts}


def choose_locale(available: dict[str, ConsentText], wanted: str | None, default: str) -> str:
    """The tag ('PT-BR' finds 'pt-BR'), else its language ('ZH-S' → 'zh'), else the default."""
    if not available:
        raise Conflict("This integration has no consent text yet")
    for candidate in [*locale_candidates(wanted, default), "en"]:
        if candidate in available:
            return candidate
    return sorted(available)[0]


def consent_out(text: ConsentText) -> ConsentTextOut:
    return ConsentTextOut(
        consent_text_id=text.id,
        version=text.version,
        locale=text.locale,
        text=text.consent_text,
        instructions=text.instructions,
        sha256=text.sha256,
    )


def integration_info(*, session: Session, public_key: str, locale: str | None) -> IntegrationOut:
    """What a panelist sees before the camera is touched: the study name and the consent text."""
    integration = integration_by_key(session, public_key)
    texts = latest_consent_texts(session, integration.id)
    chosen = choose_locale(texts, locale, integration.default_locale)
    study = session.get(Study, integration.study_id)
    assert study is not None
    return IntegrationOut(
        study_name=study.name,
        intake=intake(session, integration),
        locale=chosen,
        locales=sorted(texts),
        consent=consent_out(texts[chosen]),
    )
