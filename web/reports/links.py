"""Share links: create, list, revoke, and resolve a token to its study. Services own the commit."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from web.accounts.models import User
from web.db import utcnow
from web.errors import Invalid, NotFound
from web.reports.models import ReportLink
from web.studies.models import Study

DEFAULT_DAYS = 30
MAX_DAYS = 365
# URL-safe base64 of 32 random bytes.
TOKEN_CHARS = 43


@dataclass(frozen=True)
class NewLink:
    link: ReportLink
    token: str  # shown once; only its hash is stored


def token_hash(token: str) -> str:
    # 256 random bits: a plain hash is enough to make a copied table open nothing.
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(
    *, session: Session, study: Study, user: User, label: str, days: int = DEFAULT_DAYS
) -> NewLink:
    """A new link to the study's report, valid for `days` (1..MAX_DAYS)."""
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"a link lasts from 1 to {MAX_DAYS} days")
    token = secrets.token_urlsafe(32)
    link = ReportLink(
        study_id=study.id,
        token_hash=token_hash(token),
        label=label.strip()[:200],
        created_by_id=user.id,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(link)
    session.commit()
    return NewLink(link, token)


def study_links(*, session: Session, study: Study) -> list[ReportLink]:
    """Every link of the study, newest first, revoked and expired ones included."""
    return list(
        session.scalars(
            select(ReportLink)
            .where(ReportLink.study_id == study.id)
            .order_by(ReportLink.created_at.desc(), ReportLink.id.desc())
        )
    )


def study_link(*, session: Session, study: Study, link_id: int) -> ReportLink:
    link = session.get(ReportLink, link_id)
    if link is None or link.study_id != study.id:
        raise NotFound("No such link in this study")
    return link


def revoke_link(*, session: Session, link: ReportLink) -> ReportLink:
    """Stop the link working now; revoking twice keeps the first time."""
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        session.commit()
    return link


def link_state(link: ReportLink) -> str:
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at <= utcnow():
        return "expired"
    return "active"


def open_link(*, session: Session, token: str) -> Study:
    """The study a live link opens; unknown, expired and revoked links all answer 404 alike."""
    link = None
    if len(token) == TOKEN_CHARS:
        link = session.scalar(select(ReportLink).where(ReportLink.token_hash == token_hash(token)))
    if link is None or link_state(link) != "active":
        # Unknown, expired or revoked: one message, so nothing leaks.
        raise NotFound(
            "This report link does not work: it may have expired or been revoked. "
            "Ask the person who sent it for a new one."
        )
    link.last_opened_at = utcnow()
    session.commit()
    study = session.get(Study, link.study_id)
    assert study is not None  # the link is deleted with its study
    return study
