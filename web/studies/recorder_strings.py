"""A designer's translation of the recorder's interface (buttons, headings, camera help) for a
consent locale the recorder does not speak itself. The list of strings and their English text
live in recorder_js/src/i18n.js (`flatStrings`); the page that edits them reads it from there."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from web.errors import Invalid
from web.studies.models import Integration

# The languages recorder_js/src/i18n.js ships (its LOCALES); tests/web/studies/
# test_recorder_strings.py checks the two agree.
BUILT_IN = ("en", "fr")
KEY = re.compile(r"^[A-Za-z]+(\.[A-Za-z0-9_]+){0,2}$")
MAX_KEYS, MAX_TEXT = 300, 2000


def built_in(locale: str) -> bool:
    """The recorder speaks this locale's language without a translation ("fr-CA" → fr)."""
    return locale.split("-")[0].lower() in BUILT_IN


def missing_translations(integration: Integration, locales: list[str]) -> list[str]:
    """Consent locales whose panelists would see the recorder in English."""
    saved = integration.recorder_strings or {}
    return [loc for loc in locales if not built_in(loc) and not saved.get(loc)]


def strings_for(integration: Integration, locale: str) -> dict[str, str] | None:
    """The translation for a session whose consent text is in `locale` (one of the consent
    locales, so an exact key): None where the recorder speaks the language itself."""
    if built_in(locale):
        return None
    return (integration.recorder_strings or {}).get(locale) or None


def save(*, session: Session, integration: Integration, locale: str, texts: dict[str, str]) -> int:
    """Replace a locale's translation (empty texts dropped); returns how many were kept."""
    kept = {key: text.strip() for key, text in texts.items() if text.strip()}
    if len(kept) > MAX_KEYS:
        raise Invalid(f"At most {MAX_KEYS} strings can be saved for one language.")
    for key, text in kept.items():
        if not KEY.match(key):
            raise Invalid(f"“{key[:40]}” is not one of the recorder's strings.")
        if len(text) > MAX_TEXT:
            raise Invalid(f"The text for {key} is longer than {MAX_TEXT} characters.")
    integration.recorder_strings = {**(integration.recorder_strings or {}), locale: kept}
    if not kept:
        integration.recorder_strings.pop(locale)
    session.commit()
    return len(kept)
