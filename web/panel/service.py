"""Panel sessions: start, consent, end, withdraw, erase. Services own their commits."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from candor import ondevice
from candor.ondevice import Fallback
from candor.statuses import LIVE_SESSION, ClipStatus, ConsentDecision, DeletionReason, SessionStatus
from web import ondevice as ondevice_assets
from web.clips import lifecycle
from web.clips.deletion import remove_videos
from web.clips.lifecycle import consented
from web.clips.models import Clip, ConsentRecord, PanelSession
from web.db import utcnow
from web.errors import Conflict, Invalid, NotFound
from web.panel import tokens
from web.panel.coverage import any_usable
from web.panel.locales import locale_candidates
from web.panel.reoffer import reoffer_ads
from web.panel.schemas import (
    AdOut,
    ConsentIn,
    ConsentTextOut,
    IntegrationOut,
    OnDeviceOut,
    SessionEnd,
    SessionOut,
    SessionStart,
    StatusOut,
)
from web.settings import Settings
from web.studies.emotion import fielding_refusal
from web.studies.fieldwork import intake
from web.studies.models import Ad, AdOrder, ConsentText, Integration, IntegrationStatus, Study
from web.studies.recorder_strings import strings_for
from web.studies.signing import check_preview_token, verify_respondent

# A respondent coming back with their resume token to a session in one of these states resumes
# it (a reload, a crash, a mistaken "no thanks"); without the token, or to an ended one, starts
# anew. Only a *signed* new start supersedes: a live session of theirs at once, an ended one when
# they agree. An unsigned start proves nothing about who it is, so it never touches another
# session: it is a session of its own, and a duplicate id is flagged in data quality.
RESUMABLE = (SessionStatus.STARTED, SessionStatus.CONSENTED, SessionStatus.DECLINED)
ENDED = (
    SessionStatus.COMPLETE,
    SessionStatus.INCOMPLETE,
    SessionStatus.NO_CAMERA,
    SessionStatus.FAILED,
    SessionStatus.WITHDRAWN,
    SessionStatus.DECLINED,
    SessionStatus.ABANDONED,
)
# Builds the URL of an ad's video or poster ("video" / "poster") for a <video> tag.
MediaUrl = Callable[[Ad, str], str]


def _integration(session: Session, public_key: str) -> Integration:
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


def choose_locale(available: dict[str, ConsentText], wanted: str | None, default: str) -> str:
    """The tag ('PT-BR' finds 'pt-BR'), else its language ('ZH-S' → 'zh'), else the default."""
    if not available:
        raise Conflict("This integration has no consent text yet")
    for candidate in [*locale_candidates(wanted, default), "en"]:
        if candidate in available:
            return candidate
    return sorted(available)[0]


def _consent_out(text: ConsentText) -> ConsentTextOut:
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
    integration = _integration(session, public_key)
    texts = latest_consent_texts(session, integration.id)
    chosen = choose_locale(texts, locale, integration.default_locale)
    study = session.get(Study, integration.study_id)
    assert study is not None
    return IntegrationOut(
        study_name=study.name,
        intake=intake(session, integration),
        locale=chosen,
        locales=sorted(texts),
        consent=_consent_out(texts[chosen]),
    )


# Pass-through names the recorder may carry a signature and a preview token in (a link's query,
# a script tag's data-vars): never stored as survey variables.
PROOF_VARS = ("exp", "sig", "preview_token")


def _proof(body: SessionStart) -> tuple[int | None, str | None, str | None]:
    """exp, sig and preview token from the body's fields, else from its pass-through values."""
    carried = body.passthrough
    exp: object = body.exp if body.exp is not None else carried.get("exp")
    sig = body.sig if body.sig is not None else carried.get("sig")
    token = body.preview_token if body.preview_token is not None else carried.get("preview_token")
    if exp is not None and not isinstance(exp, int):
        text = str(exp)
        if not text.isdigit() or len(text) > 10:
            raise Invalid("exp must be a whole number of seconds since 1970 (Unix time)")
        exp = int(text)
    if sig is not None and not (isinstance(sig, str) and len(sig) == 64):
        raise Invalid("sig must be 64 hexadecimal characters (HMAC-SHA256)")
    if sig is not None and any(c not in "0123456789abcdefABCDEF" for c in str(sig)):
        raise Invalid("sig must be 64 hexadecimal characters (HMAC-SHA256)")
    return (
        exp if isinstance(exp, int) else None,
        str(sig) if sig is not None else None,
        str(token) if token is not None else None,
    )


def _clean_passthrough(integration: Integration, values: dict[str, object]) -> dict[str, str]:
    """Keep only the variables the integration declares, as strings (segments compare strings)."""
    kept = {}
    for name in integration.passthrough_vars:
        if name in PROOF_VARS:
            continue
        value = values.get(name)
        if value is None or value == "":
            continue
        kept[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return kept


def _resumable(
    session: Session,
    settings: Settings,
    integration_id: int,
    respondent: str,
    body: SessionStart,
) -> PanelSession | None:
    """This respondent's session of this integration if it is still going (token still valid)
    and the caller holds its resume token; locked, so a concurrent start waits for this one."""
    if body.resume_token is None:
        return None
    since = utcnow() - timedelta(seconds=settings.session_token_ttl_seconds)
    return session.scalar(
        select(PanelSession)
        .where(
            PanelSession.integration_id == integration_id,
            PanelSession.respondent_hash == respondent,
            PanelSession.is_preview.is_(body.preview),
            PanelSession.status.in_(RESUMABLE),
            PanelSession.created_at >= since,
            PanelSession.resume_hash == tokens.resume_hash(settings, body.resume_token),
        )
        .order_by(PanelSession.id.desc())
        .limit(1)
        .with_for_update()
    )


def _supersede_live(
    session: Session, settings: Settings, integration_id: int, respondent: str, preview: bool
) -> list[str]:
    """A fresh *signed* start of a respondent: their live sessions (signed or not) are erased
    now, so only one live signed session of theirs ever exists. Never called for an unsigned
    start: that would let anyone with the public key and an id erase a panelist."""
    live = session.scalars(
        select(PanelSession)
        .where(
            PanelSession.integration_id == integration_id,
            PanelSession.respondent_hash == respondent,
            PanelSession.is_preview.is_(preview),
            PanelSession.status.in_(LIVE_SESSION),
        )
        .order_by(PanelSession.id)
        .with_for_update()
    ).all()
    removals: list[str] = []
    for old in live:
        removals += lifecycle.withdraw(session, settings, old, DeletionReason.SUPERSEDED)
    session.flush()  # the old one leaves the live set before the new one joins it
    return removals


def _recorded_ads(session: Session, panel_session_id: int) -> list[int]:
    """Ads this session has recorded something of: a resumed recorder does not show them again."""
    return list(
        session.scalars(
            select(Clip.ad_id).where(
                Clip.session_id == panel_session_id,
                (Clip.chunks_received > 0) | (Clip.status != ClipStatus.UPLOADING),
            )
        ).all()
    )


def _refuse_unless_open(session: Session, integration: Integration) -> None:
    """A paused or closed integration starts no session; the recorder shows a polite "closed"
    screen and returns to the survey with status `closed` (hence the return URL template)."""
    status = intake(session, integration)
    if status != IntegrationStatus.OPEN.value:
        raise Conflict(
            "This study is not taking new panelists at the moment",
            code="study_closed",
            intake=status,
            return_url_template=integration.return_url_template,
        )


def start_session(
    *, session: Session, settings: Settings, body: SessionStart, media_url: MediaUrl
) -> SessionOut:
    """A panel session: keyed respondent hash, this panelist's ad order, a signed token.

    The same respondent id again with the resume token their browser was given (a reload, a
    crashed tab) resumes their session while it is still going, with its ad order and the ads
    it has recorded. Without that token a new session starts, exactly as for a first visit;
    nothing of another session is revealed. A signed start (a valid `sig` for the id) then
    supersedes their live session at once, an ended one when they agree, and two signed starts
    at once cannot both make a live session (the loser answers 409). An unsigned start touches
    no other session: it is flagged as a duplicate in data quality instead.
    """
    integration = _integration(session, body.integration)
    study = session.get(Study, integration.study_id)
    assert study is not None
    exp, sig, preview_token = _proof(body)
    signed = verify_respondent(settings, integration, body.respondent_id, exp, sig)
    if body.preview:
        check_preview_token(settings, integration, preview_token)
    _refuse_unless_open(session, integration)
    refusal = (
        "This study has no ads yet"
        if not study.ads
        else fielding_refusal(session=session, study=study, integration=integration)
    )
    if refusal is not None:
        # Not the panelist's doing and nothing they can fix: the same polite "closed" screen
        # and `closed` status as a paused study; the sentence (shown in the designer's
        # preview) says what the study team must do.
        raise Conflict(
            refusal,
            code="study_closed",
            intake="not_ready",
            return_url_template=integration.return_url_template,
        )
    texts = latest_consent_texts(session, integration.id)
    locale = choose_locale(texts, body.locale, integration.default_locale)
    respondent = tokens.respondent_hash(settings, body.respondent_id)
    panel_session = _resumable(session, settings, integration.id, respondent, body)
    removals: list[str] = []
    if panel_session is not None:
        assert body.resume_token is not None
        resume_token = body.resume_token
        by_id = {ad.id: ad for ad in study.ads}
        ads = [by_id[ad_id] for ad_id in panel_session.ad_order if ad_id in by_id]
        panel_session.locale = locale
        panel_session.left_at = None  # back (a reload): the leave beacon it sent no longer holds
        recorded = _recorded_ads(session, panel_session.id)
        again = reoffer_ads(session, panel_session.id)
    else:
        if signed:
            removals = _supersede_live(session, settings, integration.id, respondent, body.preview)
        ads = list(study.ads)
        if study.ad_order == AdOrder.RANDOM:
            random.SystemRandom().shuffle(ads)
        resume_token = tokens.new_resume_token()
        panel_session = PanelSession(
            integration_id=integration.id,
            study_id=study.id,
            respondent_hash=respondent,
            resume_hash=tokens.resume_hash(settings, resume_token),
            passthrough=_clean_passthrough(integration, dict(body.passthrough)),
            locale=locale,
            ad_order=[ad.id for ad in ads],
            is_preview=body.preview,
            signed=signed,
        )
        session.add(panel_session)
        recorded, again = [], []
    try:
        session.commit()
    except IntegrityError as exc:
        # Only the one-live-session index can refuse this row (public ids are random): another
        # start of this respondent won the race. Its session stays theirs; nothing is revealed.
        session.rollback()
        raise Conflict(
            "Another session of this respondent was started at the same moment; try again",
            code="session_conflict",
        ) from exc
    remove_videos(settings, removals)
    token, expires_at = tokens.session_token(settings, panel_session.public_id)
    consented_here = panel_session.status == SessionStatus.CONSENTED
    on_device = panel_session.on_device if consented_here else study.on_device
    fallback = fallback_text(session, study, integration.id, locale)
    shown = texts[locale]
    if consented_here and study.on_device and not panel_session.on_device:
        # Resumed after agreeing to the server-mode fallback: that is the text in force.
        shown = _agreed_fallback(session, panel_session.id) or shown
        fallback = None
    return SessionOut(
        session_id=panel_session.public_id,
        token=token,
        expires_at=expires_at,
        locale=locale,
        consent=_consent_out(shown),
        ads=[
            AdOut(
                id=ad.id,
                title=ad.title,
                duration_s=ad.duration_s,
                width=ad.width,
                height=ad.height,
                video_url=media_url(ad, "video"),
                poster_url=media_url(ad, "poster") if ad.poster_key else None,
            )
            for ad in ads
        ],
        return_url_template=integration.return_url_template,
        preview=panel_session.is_preview,
        recorded_ads=recorded,
        reoffer_ads=again,
        resume_token=resume_token,
        strings=strings_for(integration, locale),
        on_device=on_device_out(on_device, fallback=Fallback.SERVER if fallback else Fallback.EXIT),
        fallback_consent=_consent_out(fallback) if fallback and on_device else None,
    )


def _agreed_fallback(session: Session, panel_session_id: int) -> ConsentText | None:
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


def on_device_out(on_device: bool, *, fallback: Fallback = Fallback.EXIT) -> OnDeviceOut | None:
    """What the recorder needs to read the face itself, when the session is on-device, and what
    it offers when this browser cannot (`fallback`: server mode only with its consent text)."""
    if not on_device:
        return None
    return OnDeviceOut(
        fallback=fallback.value,
        assets=ondevice_assets.ASSETS_PREFIX,
        model=f"{ondevice_assets.ASSETS_PREFIX}/{ondevice_assets.MODEL_NAME}",
        model_sha256=ondevice.MODEL_SHA256,
        library_version=ondevice.LIBRARY_VERSION,
        fps=ondevice.FPS,
        mime_type=ondevice.MIME_TYPE,
    )


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
) -> StatusOut:
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
        return StatusOut(
            status=SessionStatus.CONSENTED, receipt_code=_receipt(settings, panel_session)
        )
    elif status == SessionStatus.CONSENTED:
        raise Conflict("Consent was already given; use withdraw to stop and delete")
    else:
        raise Conflict(f"This session has ended ({status.value})")
    if status == SessionStatus.DECLINED and decision == ConsentDecision.DECLINE:
        return StatusOut(status=SessionStatus.DECLINED)
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
        return StatusOut(status=SessionStatus.CONSENTED, receipt_code=code)
    panel_session.status = SessionStatus.DECLINED
    panel_session.ended_at = utcnow()
    session.commit()
    return StatusOut(status=SessionStatus.DECLINED)


def _consent_to_fallback(
    session: Session,
    settings: Settings,
    panel_session: PanelSession,
    text: ConsentText,
    decision: ConsentDecision,
    reason: str | None,
) -> StatusOut:
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
        if _agreed_fallback(session, panel_session.id) is not None:
            if decision == ConsentDecision.DECLINE:
                raise Conflict("Consent was already given; use withdraw to stop and delete")
            return StatusOut(
                status=SessionStatus.CONSENTED, receipt_code=_receipt(settings, panel_session)
            )
        raise Invalid("This session is not analysed on the device: it has no fallback")
    if decision == ConsentDecision.DECLINE:
        # Kept as asked and refused; the recorder then ends the session no_camera.
        session.add(
            ConsentRecord(
                session_id=panel_session.id,
                consent_text_id=text.id,
                text_sha256=text.sha256,
                locale=text.locale,
                decision=decision,
                decline_reason=reason,
            )
        )
        session.commit()
        return StatusOut(status=SessionStatus.CONSENTED)
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
    session.add(
        ConsentRecord(
            session_id=panel_session.id,
            consent_text_id=text.id,
            text_sha256=text.sha256,
            locale=text.locale,
            decision=decision,
        )
    )
    panel_session.on_device = False
    session.commit()
    return StatusOut(status=SessionStatus.CONSENTED, receipt_code=_receipt(settings, panel_session))


def _same_respondent(panel_session: PanelSession) -> ColumnElement[bool]:
    """Every other session of this respondent in this study (an erased one has no hash left)."""
    return and_(
        PanelSession.study_id == panel_session.study_id,
        PanelSession.respondent_hash == panel_session.respondent_hash,
        PanelSession.respondent_hash != "",
        PanelSession.id != panel_session.id,
    )


def _supersede(session: Session, settings: Settings, panel_session: PanelSession) -> list[str]:
    """The respondent agreed again in a new session: their earlier sessions' data goes."""
    earlier = session.scalars(
        select(PanelSession)
        .where(_same_respondent(panel_session), PanelSession.is_preview == panel_session.is_preview)
        .order_by(PanelSession.id)
        .with_for_update()
    ).all()
    removals: list[str] = []
    for old in earlier:
        removals += lifecycle.withdraw(session, settings, old, DeletionReason.SUPERSEDED)
    session.flush()  # written before this session's own change (updates go in id order)
    return removals


def _receipt(settings: Settings, panel_session: PanelSession) -> str | None:
    if panel_session.receipt_hash is None:
        return None
    return tokens.receipt_code(settings, panel_session.public_id)


def end_session(
    *, session: Session, settings: Settings, session_public_id: uuid.UUID, body: SessionEnd
) -> StatusOut:
    """Close the session with the recorder's status; clips never finished are deleted now.

    `complete` is kept only when a clip of the session is usable or promises to be (coverage.py);
    otherwise the session ends `incomplete`, and the answer says so: the recorder returns to the
    survey with the status the server stored, so the survey learns what the data is."""
    panel_session = panel_session_for(session, session_public_id)
    if panel_session.status in ENDED:
        return StatusOut(
            status=panel_session.status, receipt_code=_receipt(settings, panel_session)
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
    return StatusOut(status=wanted, receipt_code=_receipt(settings, panel_session))


def withdraw(*, session: Session, settings: Settings, session_public_id: uuid.UUID) -> StatusOut:
    """Stop and delete: every clip, chunk and curve of the session, and its share of aggregates."""
    panel_session = panel_session_for(session, session_public_id)
    removals = lifecycle.withdraw(session, settings, panel_session, DeletionReason.WITHDRAWN)
    session.commit()
    remove_videos(settings, removals)
    return StatusOut(status=SessionStatus.WITHDRAWN)


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
            select(PanelSession).where(_same_respondent(panel_session)).order_by(PanelSession.id)
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
