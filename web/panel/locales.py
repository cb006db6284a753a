"""Language tags as survey tools send them, and which consent text a tag picks.

Survey platforms do not all speak BCP 47: Qualtrics sends `ZH-S`, `PT-BR`, `EN-GB`, LimeSurvey
`de-informal`, `zh-Hans`, browsers `es-419`. Any of them is accepted if it looks like a tag
(a language of letters, then subtags of letters and digits joined by `-` or `_`); what picks the
consent text is the tag in BCP 47's casing, then its language alone, then the integration's
default. The session, the integration-info call and the `/r/` page all use the same rule.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

# BCP 47 §4.4.1 asks implementations to handle tags of at least 35 characters; longer ones
# are not language tags a survey tool would send, so they are refused (422).
LANGUAGE_TAG_MAX_CHARS = 35
# A language of 2 to 8 letters, then any number of subtags of 1 to 8 characters (`S` in Qualtrics'
# `ZH-S` is one letter). `_` is accepted as a separator, as Java and POSIX locales use it.
LANGUAGE_TAG_PATTERN = r"^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$"

_TAG = re.compile(LANGUAGE_TAG_PATTERN)

LanguageTag = Annotated[
    str, Field(min_length=2, max_length=LANGUAGE_TAG_MAX_CHARS, pattern=LANGUAGE_TAG_PATTERN)
]


def is_language_tag(text: str) -> bool:
    """Whether `text` passes the same rule as the API's `locale` fields."""
    return 2 <= len(text) <= LANGUAGE_TAG_MAX_CHARS and _TAG.match(text) is not None


def primary_language(tag: str) -> str:
    """The language subtag, lowercased: 'ZH-S' → 'zh', 'pt_BR' → 'pt'."""
    return tag.replace("_", "-").split("-")[0].lower()


def canonical_tag(tag: str) -> str:
    """BCP 47's casing (language lower, script title, region upper), '-' as the separator.

    So 'PT-BR' and 'pt_br' find a consent text the designer saved as 'pt-BR'.
    """
    language, *subtags = tag.replace("_", "-").split("-")
    parts = [language.lower()]
    for subtag in subtags:
        if len(subtag) == 2 and subtag.isalpha():
            parts.append(subtag.upper())
        elif len(subtag) == 4 and subtag.isalpha():
            parts.append(subtag.title())
        else:
            parts.append(subtag.lower())
    return "-".join(parts)


def locale_candidates(wanted: str | None, default: str) -> list[str]:
    """Locales to try in order: the tag as written by BCP 47, its language, the default."""
    candidates = [canonical_tag(wanted), primary_language(wanted)] if wanted else []
    return [*candidates, default]
