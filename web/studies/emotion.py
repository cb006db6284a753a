"""Emotion mode: when a study may infer emotions, and when it may be fielded.

Rules (docs/designer.md, "Emotion mode"):
- A study is fielded in emotion mode only while every current consent version of the integration
  is marked by a designer as disclosing emotion inference (EU AI Act art. 50(3)). The mark is a
  statement saved with the version, not a search for words in it.
- Emotion mode is switched only before the first panelist (previews aside) has consented: after
  that the study's results would mix panelists who were told different things, so the switch is
  refused and the designer makes a new study (`service.check_emotion_switch`). Each panel session
  also keeps the mode it was consented under, so even a preview run is never re-read under a
  newer setting.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from web.studies.integrations import current_consents
from web.studies.models import Integration, Study


@dataclass(frozen=True)
class DisclosureGap:
    """A current consent version that does not disclose emotion inference."""

    integration_id: int
    integration_name: str
    locale: str
    version: int

    @property
    def reason(self) -> str:
        return (
            f"the {self.locale} consent text (version {self.version}) of “{self.integration_name}”"
            " is not marked as telling panelists that emotions are inferred from their face"
        )


def integration_gaps(*, session: Session, integration: Integration) -> list[DisclosureGap]:
    """The integration's current versions that lack the disclosure, default locale first."""
    return [
        DisclosureGap(integration.id, integration.name, locale, text.version)
        for locale, text in current_consents(session=session, integration=integration).items()
        if not text.discloses_emotion
    ]


def study_gaps(*, session: Session, study: Study) -> list[DisclosureGap]:
    """Every gap in every integration of the study (empty when not in emotion mode)."""
    if not study.emotion_mode:
        return []
    gaps: list[DisclosureGap] = []
    for integration in study.integrations:
        gaps.extend(integration_gaps(session=session, integration=integration))
    return gaps


def fielding_refusal(*, session: Session, study: Study, integration: Integration) -> str | None:
    """Why panelists may not start this integration now, or None when they may."""
    if not study.emotion_mode:
        return None
    gaps = integration_gaps(session=session, integration=integration)
    if not gaps:
        return None
    locales = ", ".join(f"{g.locale} (version {g.version})" for g in gaps)
    return (
        "This study infers emotions from faces, and its consent text does not say so yet in "
        f"{locales}; the study team must update the consent text before anyone can take part"
    )
