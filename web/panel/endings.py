"""How a panel session ends: by the recorder (complete only with a clip that is or promises to
be usable: web/clips/coverage.py), by the panelist's withdrawal, or later by the erasure
receipt. Videos are removed after the commit."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.statuses import DeletionReason, SessionStatus
from web.clips import lifecycle
from web.clips.coverage import any_usable
from web.clips.deletion import remove_videos
from web.clips.models import PanelSession
from web.db import utcnow
from web.errors import Conflict, NotFound
from web.panel import tokens
from web.panel.schemas import SessionEnd
from web.panel.service import SessionState, panel_session_for, receipt_of, same_respondent
from web.settings import Settings

# A session in one of these states has ended: ending it again answers what it ended as.
ENDED = (
    SessionStatus.COMPLETE,
    SessionStatus.INCOMPLETE,
    SessionStatus.NO_CAMERA,
    SessionStatus.FAILED,
    SessionStatus.WITHDRAWN,
    SessionStatus.DECLINED,
    SessionStatus.ABANDONED,
)


def end_session(
    *, session: Session, settings: Settings, session_public_id: uuid.UUID, body: SessionEnd
) -> SessionState:
    """Close the session with the recorder's status; clips never finished are deleted now.

    `complete` is kept only when a clip of the session is usable or promises to be
    (web/clips/coverage.py); otherwise the session ends `incomplete`, and the answer says so: the
    recorder returns to the survey with the status the server stored, so the survey learns what
    the data is."""
    panel_session = panel_session_for(session, session_public_id)
    if panel_session.status in ENDED:
        return SessionState(
            status=panel_session.status, receipt_code=receipt_of(settings, panel_session)
        )
    wanted = SessionStatus(body.status)
    if wanted != SessionStatus.FAILED and panel_session.status != SessionStatus.CONSENTED:
        raise Conflict(f"A session without consent cannot end as {wanted.value}")
    removals = lifecycle.end_session(session, settings, panel_session, wanted)
    # Honest status: `complete` only with a clip that is (or promises to be) usable.
    if wanted == SessionStatus.COMPLETE and not any_usable(session, panel_session.id):
        wanted = SessionStatus.INCOMPLETE
        panel_session.status = wanted
    session.commit()
    remove_videos(settings, removals)
    return SessionState(status=wanted, receipt_code=receipt_of(settings, panel_session))


def withdraw(*, session: Session, settings: Settings, session_public_id: uuid.UUID) -> SessionState:
    """Stop and delete: every clip, chunk and curve of the session, and its share of aggregates."""
    panel_session = panel_session_for(session, session_public_id)
    removals = lifecycle.withdraw(session, settings, panel_session, DeletionReason.WITHDRAWN)
    session.commit()
    remove_videos(settings, removals)
    return SessionState(status=SessionStatus.WITHDRAWN)


def erase_by_receipt(*, session: Session, settings: Settings, receipt_code: str) -> datetime:
    """Erasure later, by the receipt code: that session, and if it was signed (its respondent
    id proved) everything else of that respondent in the study. An unsigned session's receipt
    erases that session alone: whoever started it may not have been that respondent. Returns
    when it was erased (UTC), which the erasure page tells the panelist."""
    panel_session = session.scalar(
        select(PanelSession).where(
            PanelSession.receipt_hash == tokens.receipt_hash(settings, receipt_code)
        )
    )
    if panel_session is None:
        raise NotFound("No session has this receipt code; check it and try again")
    others = (
        session.scalars(
            select(PanelSession).where(same_respondent(panel_session)).order_by(PanelSession.id)
        ).all()
        if panel_session.signed
        else []
    )
    removals: list[str] = []
    for other in others:  # sessions from before one-session-per-respondent, or a preview's
        removals += lifecycle.withdraw(session, settings, other, DeletionReason.ERASED)
    removals += lifecycle.withdraw(session, settings, panel_session, DeletionReason.ERASED)
    erased_at = utcnow()
    session.commit()
    remove_videos(settings, removals)
    return erased_at
