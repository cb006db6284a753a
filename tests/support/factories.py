"""Row factories for tests: the smallest valid organisation → study → ad → session → clip."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from web.accounts.models import Organisation
from web.clips import keys
from web.clips.models import Clip, PanelSession
from web.studies.models import Ad, ConsentText, Integration, IntegrationKind, Study

# The server secret of the tests' settings (clips made here get data keys wrapped with it).
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"


def make_study(session: Session, organisation: Organisation | None = None, **kwargs: Any) -> Study:
    organisation = organisation or Organisation(name="Acme Research")
    session.add(organisation)
    session.flush()
    study = Study(
        organisation_id=organisation.id,
        name=kwargs.pop("name", "Spring campaign"),
        attested_not_employees_or_students=True,
        **kwargs,
    )
    session.add(study)
    session.flush()
    return study


def make_ad(session: Session, study: Study, duration_s: float = 30.0, **kwargs: Any) -> Ad:
    key = secrets.token_hex(8)
    ad = Ad(
        study_id=study.id,
        title=kwargs.pop("title", f"Ad {key[:4]}"),
        position=kwargs.pop("position", len(study.ads)),
        storage_key=f"{key}.mp4",
        content_type="video/mp4",
        bytes=1000,
        sha256="0" * 64,
        duration_s=duration_s,
        width=640,
        height=360,
        **kwargs,
    )
    session.add(ad)
    session.flush()
    return ad


def make_integration(session: Session, study: Study, **kwargs: Any) -> Integration:
    integration = Integration(
        study_id=study.id,
        name=kwargs.pop("name", "Generic link"),
        kind=kwargs.pop("kind", IntegrationKind.GENERIC),
        public_key=secrets.token_urlsafe(16),
        return_url_template=kwargs.pop(
            "return_url_template", "https://survey.example/return?rid={respondent_id}&s={status}"
        ),
        passthrough_vars=kwargs.pop("passthrough_vars", ["age"]),
        **kwargs,
    )
    session.add(integration)
    session.flush()
    for locale, text in (("en", "I agree to be filmed."), ("fr", "J'accepte d'être filmé·e.")):
        add_consent_text(session, integration, locale, text)
    return integration


def add_consent_text(
    session: Session,
    integration: Integration,
    locale: str,
    text: str,
    version: int = 1,
    discloses_emotion: bool = False,
) -> ConsentText:
    """A consent text version in one locale, with the sha256 of exactly its text."""
    consent = ConsentText(
        integration_id=integration.id,
        locale=locale,
        version=version,
        consent_text=text,
        instructions="",
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        discloses_emotion=discloses_emotion,
    )
    session.add(consent)
    session.flush()
    return consent


@dataclass
class ClipRows:
    study: Study
    ad: Ad
    integration: Integration
    panel_session: PanelSession
    clip: Clip


def make_clip(
    session: Session, ad: Ad | None = None, passthrough: dict[str, Any] | None = None
) -> ClipRows:
    """A consented panelist session with one clip of `ad` (a new study and ad if None)."""
    study = session.get(Study, ad.study_id) if ad else make_study(session)
    assert study is not None
    ad = ad or make_ad(session, study)
    integration = study.integrations[0] if study.integrations else make_integration(session, study)
    panel_session = PanelSession(
        integration_id=integration.id,
        study_id=study.id,
        respondent_hash=secrets.token_hex(32),
        passthrough=passthrough or {},
        ad_order=[ad.id],
    )
    session.add(panel_session)
    session.flush()
    public_id = uuid.uuid4()
    clip = Clip(
        public_id=public_id,
        session_id=panel_session.id,
        ad_id=ad.id,
        mime_type="video/webm",
        data_key=keys.new_wrapped_key(TEST_SECRET_KEY, public_id),
    )
    session.add(clip)
    session.flush()
    return ClipRows(study, ad, integration, panel_session, clip)


def give_signing_secret(session: Session, integration: Integration) -> str:
    """A signing secret for the integration (as the designer's "make a secret" does)."""
    from web.settings import Settings
    from web.studies.signing import rotate_secret

    secret = rotate_secret(Settings(secret_key=TEST_SECRET_KEY), integration)
    session.flush()
    return secret


def preview_token_for(integration: Integration | str) -> str:
    """The token the integration page's preview link carries (for an integration or its key)."""
    from web.settings import Settings
    from web.studies.signing import preview_token

    key = integration if isinstance(integration, str) else integration.public_key
    return preview_token(Settings(secret_key=TEST_SECRET_KEY), key)
