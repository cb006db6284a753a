"""The demo's sample panelists: generated faces that went through the real upload and analysis,
flagged as sample data so the pages can say so, and removable in one click."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from candor.statuses import DeletionReason
from web.clips.deletion import remove_videos
from web.clips.lifecycle import withdraw
from web.clips.models import PanelSession
from web.settings import Settings

# In the data directory once the demo got its sample panelists: they are added at the first
# start only, and never again after a designer removed them.
DONE_FILE = "demo-samples-done"


def mark_sample(session: Session, session_public_id: uuid.UUID) -> None:
    """Flag a session the demo seeder made as sample data."""
    panel_session = session.scalar(
        select(PanelSession).where(PanelSession.public_id == session_public_id)
    )
    if panel_session is None:
        raise LookupError(f"no panel session {session_public_id}")
    panel_session.is_sample = True
    session.commit()


def sample_count(session: Session, study_id: int) -> int:
    """How many sample panelists a study holds."""
    return (
        session.scalar(
            select(func.count())
            .select_from(PanelSession)
            .where(PanelSession.study_id == study_id, PanelSession.is_sample.is_(True))
        )
        or 0
    )


def remove_samples(*, session: Session, settings: Settings, study_id: int) -> int:
    """Erase every sample panelist of a study (curves, aggregates, any video) and the session
    rows themselves: nobody withdrew, so nothing of them stays to be counted. Returns how many."""
    sessions = session.scalars(
        select(PanelSession)
        .where(PanelSession.study_id == study_id, PanelSession.is_sample.is_(True))
        .order_by(PanelSession.id)
    ).all()
    removals = []
    for panel_session in sessions:
        removals += withdraw(session, settings, panel_session, DeletionReason.SAMPLE_REMOVED)
        session.delete(panel_session)
    session.commit()
    remove_videos(settings, removals)
    return len(sessions)
