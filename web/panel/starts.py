"""Starting a panel session, or resuming one: the respondent's proof (signature, preview
token), their ad order, a signed token, and the ads a reload cut off (web/clips/reoffer.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from candor.statuses import LIVE_SESSION, ClipStatus, SessionStatus
from web.clips.deletion import remove_videos
from web.clips.models import Clip, PanelSession
from web.clips.reoffer import CutOff, reoffer_ads
from web.db import utcnow
from web.errors import Conflict, Invalid
from web.panel import tokens
from web.panel.entry import (
    agreed_fallback,
    choose_locale,
    fallback_text,
    integration_by_key,
    latest_consent_texts,
)
from web.panel.schemas import SessionStart
from web.panel.service import supersede
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
    # Flushed inside: the old one leaves the live set before the new one joins it.
    return supersede(
        session,
        settings,
        PanelSession.integration_id == integration_id,
        PanelSession.respondent_hash == respondent,
        PanelSession.is_preview.is_(preview),
        PanelSession.status.in_(LIVE_SESSION),
    )


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


@dataclass(frozen=True)
class Started:
    """A session started or resumed, with what the recorder is told of it (its answer is made
    in web/panel/answers.py)."""

    panel_session: PanelSession
    integration: Integration
    token: str
    expires_at: datetime
    # Kept by the browser alone; sent again, it resumes this session.
    resume_token: str
    locale: str
    consent: ConsentText  # the text in force: the agreed fallback's, once agreed to
    ads: list[Ad]
    recorded: list[int]  # resumed: the ads recorded (in part), not shown again
    reoffer: list[CutOff]  # resumed: of those, the ads a reload cut off, offered once more
    strings: dict[str, str] | None
    on_device: bool
    # The server-mode text asked again with when this browser cannot read the face, if any.
    fallback: ConsentText | None


def start_session(*, session: Session, settings: Settings, body: SessionStart) -> Started:
    """A panel session: keyed respondent hash, this panelist's ad order, a signed token.

    The same respondent id again with the resume token their browser was given (a reload, a
    crashed tab) resumes their session while it is still going, with its ad order and the ads
    it has recorded. Without that token a new session starts, exactly as for a first visit;
    nothing of another session is revealed. A signed start (a valid `sig` for the id) then
    supersedes their live session at once, an ended one when they agree, and two signed starts
    at once cannot both make a live session (the loser answers 409). An unsigned start touches
    no other session: it is flagged as a duplicate in data quality instead.
    """
    integration = integration_by_key(session, body.integration)
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
        shown = agreed_fallback(session, panel_session.id) or shown
        fallback = None
    return Started(
        panel_session=panel_session,
        integration=integration,
        token=token,
        expires_at=expires_at,
        resume_token=resume_token,
        locale=locale,
        consent=shown,
        ads=ads,
        recorded=recorded,
        reoffer=again,
        strings=strings_for(integration, locale),
        on_device=on_device,
        fallback=fallback,
    )
