"""Panel sessions: finding one, and the panelist's consent (agree, decline, agree again after
a mistaken "no thanks"), which supersedes the respondent's earlier sessions. Services own their
commits and answer with domain objects (`SessionState`); the API turns them into JSON."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from candor.ondevice import Fallback
from candor.statuses import ConsentDecision, DeletionReason, SessionStatus
from web.clips import lifecycle
from web.clips.deletion import remove_videos
from web.clips.lifecycle import consented
from web.clips.models import Clip, ConsentRecord, PanelSession
from web.db import utcnow
from web.errors import Conflict, Invalid, NotFound
from web.panel import tokens
from web.panel.entry import agreed_fallback
from web.panel.schemas import ConsentIn
from web.settings import Settings
from web.studies.models import ConsentText, Study


@dataclass(frozen=True)
class SessionState:
    """Where a session stands after a consent, an end or a withdrawal, and its receipt code
    (given when the panelist agrees, and again to a repeated call)."""

    status: SessionStatus
    receipt_code: str | None = None


def panel_session_for(session: Session, session_public_id: uuid.UUID) -> PanelSession:
    panel_session = session.scalar(
        select(PanelSession).where(PanelSession.public_id == session_public_id)
    )
    if panel_session is None:
        raise NotFound("No such session")
    return panel_session


def _locked_with_respondent(session: Session, session_public_id: uuid.UUID) -> PanelSession:
    """The session, locked for update together with its respondent's other sessions in the
    study, in id order: a consent that supersedes them and a start that supersedes it wait for
    each other instead of one undoing the other, and never in a cycle."""
    panel_session = panel_session_for(session, session_public_id)
    mine = PanelSession.id == panel_session.id
    if panel_session.respondent_hash:
        same = and_(
            PanelSession.study_id == panel_session.study_id,
            PanelSession.respondent_hash == panel_session.respondent_hash,
        )
        mine = or_(mine, same)
    session.scalars(
        select(PanelSession)
        .where(mine)
        .order_by(PanelSession.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return panel_session


def has_agreed(session: Session, panel_session_id: int) -> bool:
    return bool(session.scalar(select(consented(panel_session_id))))


def record_consent(
    *, session: Session, settings: Settings, session_public_id: uuid.UUID, body: ConsentIn
) -> SessionState:
    """Store the decision with the exact text version shown; agree returns the receipt code."""
    panel_session = _locked_with_respondent(session, session_public_id)
    text = session.get(ConsentText, body.consent_text_id)
    if text is None or text.integration_id != panel_session.integration_id:
        raise Invalid("consent_text_id is not a consent text of this integration")
    if body.text_sha256.lower() != text.sha256:
        raise Invalid("text_sha256 does not match the consent text version shown")
    if body.locale != text.locale:
        raise Invalid(f"locale {body.locale!r} is not the locale of this consent text")
    decision = ConsentDecision(body.decision)
    status = panel_session.status
    if text.fallback:
        return _consent_to_fallback(session, settings, panel_session, text, decision, body.reason)
    if status in (SessionStatus.STARTED, SessionStatus.DECLINED):
        pass  # a first decision, or agreeing after a mistaken "no thanks"
    elif status == SessionStatus.CONSENTED and decision == ConsentDecision.AGREE:
        return SessionState(
            status=SessionStatus.CONSENTED, receipt_code=receipt_of(settings, panel_session)
        )
    elif status == SessionStatus.CONSENTED:
        raise Conflict("Consent was already given; use withdraw to stop and delete")
    else:
        raise Conflict(f"This session has ended ({status.value})")
    if status == SessionStatus.DECLINED and decision == ConsentDecision.DECLINE:
        return SessionState(status=SessionStatus.DECLINED)
    # A shared lock: consents run side by side, but not beside a switch of emotion mode
    # (which takes the row for update), so a consent never misses a switch or slips past it.
    study = session.get(Study, panel_session.study_id, with_for_update={"read": True})
    assert study is not None
    if decision == ConsentDecision.AGREE and study.emotion_mode and not text.discloses_emotion:
        # The study switched to emotion mode after this panelist was shown the text.
        raise Conflict(
            "This study now infers emotions, which the consent text shown does not say; "
            "reload the page to read the current text",
        )
    if decision == ConsentDecision.AGREE and study.on_device != text.on_device:
        # The text shown says the video stays on the device and the study uploads it, or the
        # other way round: the panelist would agree to something that is not what happens.
        where = "on your device" if study.on_device else "on our server"
        raise Conflict(
            f"This study analyses the face {where}, which the consent text shown does not "
            "describe; reload the page to read the current text",
        )
    session.add(
        ConsentRecord(
            session_id=panel_session.id,
            consent_text_id=text.id,
            text_sha256=text.sha256,
            locale=text.locale,
            decision=decision,
            decline_reason=body.reason if decision == ConsentDecision.DECLINE else None,
        )
    )
    if decision == ConsentDecision.AGREE:
        # First: the others leave the live set before this one may join it (a declined one).
        # Only a signed session has proved whose they are; an unsigned one erases nothing.
        removals = _supersede(session, settings, panel_session) if panel_session.signed else []
        code = tokens.receipt_code(settings, panel_session.public_id)
        panel_session.status = SessionStatus.CONSENTED
        # Snapshot: what the worker computes for this session never follows a later switch.
        panel_session.emotion_mode = study.emotion_mode
        panel_session.on_device = study.on_device
        panel_session.receipt_hash = tokens.receipt_hash(settings, code)
        try:
            session.commit()
        except IntegrityError as exc:  # a new live session of this respondent committed first
            session.rollback()
            raise Conflict(
                "Another session of this respondent was started at the same moment; try again",
                code="session_conflict",
            ) from exc
        remove_videos(settings, removals)
        return SessionState(status=SessionStatus.CONSENTED, receipt_code=code)
    panel_session.status = SessionStatus.DECLINED
    panel_session.ended_at = utcnow()
    session.commit()
    return SessionState(status=SessionStatus.DECLINED)


def _consent_to_fallback(
    session: Session,
    settings: Settings,
    panel_session: PanelSession,
    text: ConsentText,
    decision: ConsentDecision,
    reason: str | None,
) -> SessionState:
    """The panelist's answer to the server-mode fallback text of an on-device study (their
    browser cannot read the face). Agreeing switches this session to server mode, so its clips
    may be video from now on; it comes only after the on-device agreement, before anything was
    recorded, and only while the study offers it. Declining changes nothing: the recorder ends
    the session with status no_camera (the polite exit), and no video is ever taken."""
    status = panel_session.status
    if status != SessionStatus.CONSENTED:
        if status in (SessionStatus.STARTED, SessionStatus.DECLINED):
            raise Invalid(
                "This text is asked only after agreeing to the on-device consent text, when "
                "this browser cannot read the face itself"
            )
        raise Conflict(f"This session has ended ({status.value})")
    if not panel_session.on_device:
        if agreed_fallback(session, panel_session.id) is not None:
            if decision == ConsentDecision.DECLINE:
                raise Conflict("Consent was already given; use withdraw to stop and delete")
            return SessionState(
                status=SessionStatus.CONSENTED, receipt_code=receipt_of(settings, panel_session)
            )
        raise Invalid("This session is not analysed on the device: it has no fallback")
    record = ConsentRecord(
        session_id=panel_session.id,
        consent_text_id=text.id,
        text_sha256=text.sha256,
        locale=text.locale,
        decision=decision,
    )
    if decision == ConsentDecision.DECLINE:
        # Kept as asked and refused; the recorder then ends the session no_camera.
        record.decline_reason = reason
        session.add(record)
        session.commit()
        return SessionState(status=SessionStatus.CONSENTED)
    # Shared lock, as for any consent: a switch of the study's setting waits for this one.
    study = session.get(Study, panel_session.study_id, with_for_update={"read": True})
    assert study is not None
    if not study.on_device or study.on_device_fallback != Fallback.SERVER:
        raise Conflict(
            "This study no longer offers analysis on the server to a browser that cannot read "
            "the face; the session ends without the camera",
            code="no_fallback",
        )
    if session.scalar(select(exists().where(Clip.session_id == panel_session.id))):
        # One session is one mode: face records already sent are never joined by video.
        raise Conflict(
            "This session has already sent face records from this device; it cannot switch to "
            "sending video",
            code="no_fallback",
        )
    session.add(record)
    panel_session.on_device = False
    session.commit()
    return SessionState(
        status=SessionStatus.CONSENTED, receipt_code=receipt_of(settings, panel_session)
    )


def same_respondent(panel_session: PanelSession) -> ColumnElement[bool]:
    """Every other session of this respondent in this study (an erased one has no hash left)."""
    return and_(
        PanelSession.study_id == panel_session.study_id,
        PanelSession.respondent_hash == panel_session.respondent_hash,
        PanelSession.respondent_hash != "",
        PanelSession.id != panel_session.id,
    )


def _supersede(session: Session, settings: Settings, panel_session: PanelSession) -> list[str]:
    """The respondent agreed again in a new session: their earlier sessions' data goes."""
    return supersede(
        session,
        settings,
        same_respondent(panel_session),
        PanelSession.is_preview == panel_session.is_preview,
    )


def supersede(session: Session, settings: Settings, *which: ColumnElement[bool]) -> list[str]:
    """Erase the sessions `which` selects, as superseded by a *signed* respondent's own newer
    one (callers prove the signature first: nothing else may erase a panelist's data). Locked
    in id order and flushed before the caller's own change; the stored videos to remove after
    the commit."""
    sessions = session.scalars(
        select(PanelSession).where(*which).order_by(PanelSession.id).with_for_update()
    ).all()
    removals: list[str] = []
    for old in sessions:
        removals += lifecycle.withdraw(session, settings, old, DeletionReason.SUPERSEDED)
    session.flush()
    return removals


def receipt_of(settings: Settings, panel_session: PanelSession) -> str | None:
    if panel_session.receipt_hash is None:
        return None
    return tokens.receipt_code(settings, panel_session.public_id)
