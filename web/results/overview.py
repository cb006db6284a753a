"""What the results index and the compare picker show about each study: panelists, whether it
is fielding, and when something last happened (grouped counts, no per-panelist scan)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from web.accounts.models import Membership, Organisation
from web.clips.models import Clip, PanelSession
from web.studies.fieldwork import intake_of
from web.studies.models import Ad, Integration, IntegrationStatus, Study


@dataclass
class StudyLine:
    organisation: Organisation
    study: Study
    panelists: int  # sessions started (previews left out)
    usable: int  # panelists with a usable clip
    status: str  # set-up, ready, fielding, paused, closed, or closed: target reached (N of T)
    last_activity: datetime | None


def study_status(
    study: Study, has_ads: bool, set_by_hand: list[IntegrationStatus], started: int, usable: int
) -> str:
    """What the index says of a study, from what a panelist arriving now would meet: set-up (no
    ad or no integration), ready or fielding (some integration takes panelists; fielding once
    one started), else closed because the target was reached, else paused if some integration is
    only paused (the designer means to reopen it), else closed by hand."""
    if not has_ads or not set_by_hand:
        return "set-up"
    intakes = [intake_of(status, study, usable) for status in set_by_hand]
    if IntegrationStatus.OPEN.value in intakes:
        return "fielding" if started else "ready"
    if IntegrationStatus.OPEN in set_by_hand:  # open by hand, closed by the target
        return f"closed: target reached ({usable:,} of {study.target_usable:,})"
    if IntegrationStatus.PAUSED in set_by_hand:
        return "paused"
    return "closed"


def readable_studies(session: Session, user_id: int) -> list[tuple[Organisation, Study]]:
    """The studies of every organisation the user belongs to, newest first per organisation."""
    rows = session.execute(
        select(Organisation, Study)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .join(Study, Study.organisation_id == Organisation.id)
        .where(Membership.user_id == user_id)
        .order_by(Organisation.name, Study.created_at.desc())
    ).all()
    return [(org, study) for org, study in rows]


def study_lines(session: Session, user_id: int) -> list[StudyLine]:
    """One line per readable study."""
    rows = readable_studies(session, user_id)
    ids = [study.id for _, study in rows]
    counted = (PanelSession.study_id.in_(ids), PanelSession.is_preview.is_(False))
    started = dict(
        session.execute(
            select(PanelSession.study_id, func.count())
            .where(*counted)
            .group_by(PanelSession.study_id)
        ).all()
    )
    last_session = dict(
        session.execute(
            select(PanelSession.study_id, func.max(PanelSession.created_at))
            .where(*counted)
            .group_by(PanelSession.study_id)
        ).all()
    )
    usable = dict(
        session.execute(
            select(PanelSession.study_id, func.count(distinct(Clip.session_id)))
            .join(Clip, Clip.session_id == PanelSession.id)
            .where(*counted, Clip.usable.is_(True))
            .group_by(PanelSession.study_id)
        ).all()
    )
    last_analysis = dict(
        session.execute(
            select(PanelSession.study_id, func.max(Clip.analysed_at))
            .join(Clip, Clip.session_id == PanelSession.id)
            .where(*counted)
            .group_by(PanelSession.study_id)
        ).all()
    )
    statuses: dict[int, list[IntegrationStatus]] = {}
    for study_id, set_by_hand in session.execute(
        select(Integration.study_id, Integration.status).where(Integration.study_id.in_(ids))
    ):
        statuses.setdefault(study_id, []).append(set_by_hand)
    has_ads = set(session.scalars(select(Ad.study_id).where(Ad.study_id.in_(ids)).distinct()))
    lines = []
    for organisation, study in rows:
        moments = [t for t in (last_session.get(study.id), last_analysis.get(study.id)) if t]
        n_started, n_usable = started.get(study.id, 0), usable.get(study.id, 0)
        status = study_status(
            study, study.id in has_ads, statuses.get(study.id, []), n_started, n_usable
        )
        lines.append(
            StudyLine(
                organisation,
                study,
                n_started,
                n_usable,
                status,
                max(moments) if moments else None,
            )
        )
    return lines


def readable_ads(session: Session, user_id: int) -> list[tuple[Study, Ad]]:
    """Every ad the user may compare, with its study, in study then ad order."""
    ids = [study.id for _, study in readable_studies(session, user_id)]
    rows = session.execute(
        select(Study, Ad)
        .join(Ad, Ad.study_id == Study.id)
        .where(Study.id.in_(ids))
        .order_by(Study.created_at.desc(), Ad.position)
    ).all()
    return [(study, ad) for study, ad in rows]
