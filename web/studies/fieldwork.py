"""Fieldwork while a study is live: the target of usable panelists, whether an integration takes
new panelists, and completes over time with the live consent rate. Preview runs count nowhere."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.orm import Session

from candor.statuses import ConsentDecision
from web.clips.models import Clip, ConsentRecord, PanelSession
from web.errors import Invalid
from web.studies.models import Integration, IntegrationStatus, Study

SERIES = ("sessions", "consents", "usable")
# Below this span the chart counts per hour, above it per day.
HOURLY_SPAN = timedelta(days=3)
MAX_TARGET = 1_000_000


def usable_panelists(session: Session, study_id: int) -> int:
    """Panelists (not previews) with at least one clip the analysis found usable."""
    return (
        session.scalar(
            select(func.count(distinct(Clip.session_id)))
            .join(PanelSession, PanelSession.id == Clip.session_id)
            .where(
                PanelSession.study_id == study_id,
                PanelSession.is_preview.is_(False),
                Clip.usable.is_(True),
            )
        )
        or 0
    )


def target_reached(session: Session, study: Study) -> bool:
    return study.target_usable is not None and usable_panelists(session, study.id) >= (
        study.target_usable
    )


def closed_by_target(study: Study, usable: int) -> bool:
    """Whether the study's target closes intake, given its count of usable panelists."""
    return (
        study.close_at_target and study.target_usable is not None and usable >= study.target_usable
    )


def intake_of(status: IntegrationStatus, study: Study, usable: int) -> str:
    """'open', 'paused' or 'closed' for new panelists of an integration set to `status` by hand,
    in a study with `usable` usable panelists: the status set by hand, or 'closed' once the study
    reached its target if its designer asked for that."""
    if status != IntegrationStatus.OPEN:
        return status.value
    if closed_by_target(study, usable):
        return IntegrationStatus.CLOSED.value
    return IntegrationStatus.OPEN.value


def intake(session: Session, integration: Integration) -> str:
    """The integration's intake now (counts the usable panelists only if the target can close)."""
    study = integration.study
    usable = usable_panelists(session, study.id) if study.close_at_target else 0
    return intake_of(integration.status, study, usable)


def set_target(
    *, session: Session, study: Study, target: int | None, close_at_target: bool
) -> None:
    """The study's target of usable panelists (None: no target) and whether it closes intake."""
    if target is not None and not 1 <= target <= MAX_TARGET:
        raise Invalid(f"The target must be a whole number from 1 to {MAX_TARGET:,}.")
    if close_at_target and target is None:
        raise Invalid("Set a target to close the study automatically when it is reached.")
    study.target_usable = target
    study.close_at_target = close_at_target
    session.commit()


def set_status(*, session: Session, integration: Integration, status: str) -> None:
    """Open, pause or close an integration by hand."""
    try:
        integration.status = IntegrationStatus(status)
    except ValueError:
        raise Invalid("The status must be open, paused or closed.") from None
    session.commit()


@dataclass
class Bucket:
    start: datetime
    sessions: int = 0
    consents: int = 0
    usable: int = 0


@dataclass
class Fieldwork:
    target: int | None
    close_at_target: bool
    usable: int
    sessions: int
    consented: int
    declined: int
    unit: str  # "hour" or "day"
    buckets: list[Bucket] = field(default_factory=list)

    @property
    def consent_rate(self) -> float | None:
        decided = self.consented + self.declined
        return self.consented / decided if decided else None

    @property
    def progress(self) -> float | None:
        return min(1.0, self.usable / self.target) if self.target else None

    @property
    def peak(self) -> int:
        return max((b.sessions for b in self.buckets), default=0)

    def bars(self, width: float, height: float) -> list[dict[str, float | str]]:
        """SVG rectangles in a width x height box: per bucket, sessions, consents and usable
        clips side by side, on the scale of the busiest bucket's sessions."""
        top = max(self.peak, 1)
        slot = width / max(len(self.buckets), 1)
        bar = slot * 0.8 / len(SERIES)
        out: list[dict[str, float | str]] = []
        for i, bucket in enumerate(self.buckets):
            for k, series in enumerate(SERIES):
                value = getattr(bucket, series)
                tall = height * value / top
                left = i * slot + slot * 0.1 + k * bar
                out.append(
                    {"series": series, "value": value, "x": round(left, 1),
                     "y": round(height - tall, 1), "w": round(bar, 1), "h": round(tall, 1)}
                )  # fmt: skip
        return out


def fieldwork(session: Session, study: Study) -> Fieldwork:
    """Counts for the study page: sessions, consents and usable clips per hour or day."""
    counted = and_(PanelSession.study_id == study.id, PanelSession.is_preview.is_(False))
    started = list(session.scalars(select(PanelSession.created_at).where(counted)))
    # A restarted panelist's earlier session is not a decision of its own: their last counts
    # (as in the results' data quality), so the consent rate is per panelist, not per attempt.
    decisions = session.execute(
        select(ConsentRecord.decision, ConsentRecord.decided_at)
        .join(PanelSession, PanelSession.id == ConsentRecord.session_id)
        .where(counted, PanelSession.superseded.is_(False))
    ).all()
    usable_at = [
        at
        for at in session.scalars(
            select(Clip.analysed_at)
            .join(PanelSession, PanelSession.id == Clip.session_id)
            .where(counted, Clip.usable.is_(True))
        )
        if at is not None
    ]
    agreed = [at for decision, at in decisions if decision == ConsentDecision.AGREE]
    out = Fieldwork(
        target=study.target_usable,
        close_at_target=study.close_at_target,
        usable=usable_panelists(session, study.id),
        sessions=len(started),
        consented=len(agreed),
        declined=len(decisions) - len(agreed),
        unit="hour",
    )
    if not started:
        return out
    first, last = min(started), max([*started, *agreed, *usable_at])
    out.unit = "hour" if last - first <= HOURLY_SPAN else "day"

    def floor(at: datetime) -> datetime:
        at = at.replace(minute=0, second=0, microsecond=0)
        return at.replace(hour=0) if out.unit == "day" else at

    step = timedelta(hours=1) if out.unit == "hour" else timedelta(days=1)
    counts = {
        "sessions": Counter(map(floor, started)),
        "consents": Counter(map(floor, agreed)),
        "usable": Counter(map(floor, usable_at)),
    }
    at = floor(first)
    while at <= floor(last):
        out.buckets.append(
            Bucket(at, counts["sessions"][at], counts["consents"][at], counts["usable"][at])
        )
        at += step
    return out
