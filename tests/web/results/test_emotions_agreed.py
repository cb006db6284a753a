"""Results carry emotion metrics by what each study's panelists agreed to (the emotion mode
their consent fixed on their session), not by the study's setting now; a study no one has
consented to yet goes by its setting."""

from __future__ import annotations

from sqlalchemy.orm import Session

from candor.statuses import ConsentDecision
from tests.support.factories import make_ad, make_clip, make_study
from web.clips.models import ConsentRecord, PanelSession
from web.results.catalogue import emotion_studies, shows_emotions
from web.studies.models import Study


def _agreed(session: Session, study: Study, *, emotion_mode: bool, preview: bool = False) -> None:
    """A panelist of the study who agreed while its emotion mode was `emotion_mode`."""
    rows = make_clip(session, make_ad(session, study))
    panel_session: PanelSession = rows.panel_session
    panel_session.emotion_mode = emotion_mode
    panel_session.is_preview = preview
    text = rows.integration.consent_texts[0]
    session.add(
        ConsentRecord(
            session_id=panel_session.id,
            consent_text_id=text.id,
            text_sha256=text.sha256,
            locale=text.locale,
            decision=ConsentDecision.AGREE,
        )
    )
    session.flush()


def test_the_emotion_flag_is_what_the_panelists_agreed_to(db_session: Session) -> None:
    unasked_on = make_study(db_session, name="On, no one asked", emotion_mode=True)
    unasked_off = make_study(db_session, name="Off, no one asked", emotion_mode=False)
    # Agreed without emotions, then the study's flag was turned on behind their back.
    switched_on = make_study(db_session, name="Switched on", emotion_mode=False)
    _agreed(db_session, switched_on, emotion_mode=False)
    switched_on.emotion_mode = True
    # Agreed to emotions, then the flag was turned off: their emotion curves still exist.
    switched_off = make_study(db_session, name="Switched off", emotion_mode=True)
    _agreed(db_session, switched_off, emotion_mode=True)
    switched_off.emotion_mode = False
    # Only a preview (the designer trying the link) agreed to emotions: it does not count.
    previewed = make_study(db_session, name="Previewed", emotion_mode=False)
    _agreed(db_session, previewed, emotion_mode=True, preview=True)
    db_session.flush()

    studies = [unasked_on, unasked_off, switched_on, switched_off, previewed]
    shown = emotion_studies(db_session, [s.id for s in studies])
    assert shown == {unasked_on.id, switched_off.id}
    assert [shows_emotions(db_session, s) for s in studies] == [True, False, False, True, False]
    assert emotion_studies(db_session, []) == set()
