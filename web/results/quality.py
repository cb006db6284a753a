"""Processing progress and data quality of a study, by grouped counts (no per-panelist scan)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, distinct, exists, func, select
from sqlalchemy.orm import Session, aliased

from candor.quality import EXCLUSION_REASONS
from candor.statuses import ClipStatus, ConsentDecision, SessionStatus
from web.clips.aggregates import duplicate_of_counted
from web.clips.models import Clip, ConsentRecord, PanelSession
from web.results.schemas import DeclineReason, Progress, Quality
from web.studies.models import ConsentText

NO_REASON = "(no reason given)"
# A session superseded by a new start of the same panelist (web/panel/starts.py).
RESTARTED = "restarted"
# A session erased after it ended, with its receipt code (/erase).
ERASED_BY_RECEIPT = "erased_by_receipt"
# The reasons the recorder offers after "No thanks" (recorder_js/src/i18n.js declineReasons).
DECLINE_REASONS = {
    "not_now": "Not now",
    "privacy": "Privacy",
    "no_camera": "No camera",
    "other": "Another reason",
}


def counted_sessions() -> ColumnElement[bool]:
    """Sessions that count in results: every one but a designer's preview of the flow."""
    return PanelSession.is_preview.is_(False)


def progress_by_ad(session: Session, ad_ids: Sequence[int]) -> dict[int, Progress]:
    """Clips of each ad by processing state (preview sessions' clips left out)."""
    out = {ad_id: Progress() for ad_id in ad_ids}
    if not ad_ids:
        return out
    query = (
        select(Clip.ad_id, Clip.status, func.count())
        .join(PanelSession, PanelSession.id == Clip.session_id)
        .where(Clip.ad_id.in_(ad_ids), counted_sessions())
        .group_by(Clip.ad_id, Clip.status)
    )
    for ad_id, status, count in session.execute(query):
        setattr(out[ad_id], str(status), count)
    return out


def _by_outcome(by_status: dict[str, int], restarted: int, erased: int) -> dict[str, int]:
    """Sessions by status, with those superseded by a new start of the same panelist counted
    as "restarted" and those erased later by receipt code as "erased_by_receipt", not as
    "withdrawn" (all three are stored as withdrawn: their data is gone), so that "withdrawn"
    here is Quality.withdrawn, "stop and delete" alone."""
    counts = {status.value: by_status.get(status.value, 0) for status in SessionStatus}
    counts[SessionStatus.WITHDRAWN.value] -= restarted + erased
    counts[RESTARTED] = restarted
    counts[ERASED_BY_RECEIPT] = erased
    return counts


def quality(session: Session, study_id: int) -> Quality:
    """Consent, usable sessions, face-found share and exclusions of one study (no previews)."""
    of_study = and_(PanelSession.study_id == study_id, counted_sessions())
    by_status = {
        str(status): count
        for status, count in session.execute(
            select(PanelSession.status, func.count()).where(of_study).group_by(PanelSession.status)
        )
    }
    erased, restarted = session.execute(
        select(
            func.count().filter(PanelSession.erased_by_receipt.is_(True)),
            func.count().filter(PanelSession.superseded.is_(True)),
        ).where(of_study)
    ).one()
    # A restarted panelist's earlier session is not a decision of its own: their last counts.
    decided = and_(of_study, PanelSession.superseded.is_(False))
    # The answer to the integration's consent text; the server-mode fallback text an on-device
    # study asks again with (issue 22) is counted apart, never as a second decision.
    first_text = ~exists().where(
        ConsentText.id == ConsentRecord.consent_text_id, ConsentText.fallback.is_(True)
    )
    decisions = {
        str(decision): count
        for decision, count in session.execute(
            select(ConsentRecord.decision, func.count(distinct(ConsentRecord.session_id)))
            .join(PanelSession, PanelSession.id == ConsentRecord.session_id)
            .where(decided, first_text)
            .group_by(ConsentRecord.decision)
        )
    }
    reasons = session.execute(
        select(ConsentRecord.decline_reason, func.count())
        .join(PanelSession, PanelSession.id == ConsentRecord.session_id)
        .where(decided, first_text, ConsentRecord.decision == ConsentDecision.DECLINE)
        .group_by(ConsentRecord.decline_reason)
    ).all()
    fallback = {
        str(decision): count
        for decision, count in session.execute(
            select(ConsentRecord.decision, func.count(distinct(ConsentRecord.session_id)))
            .join(PanelSession, PanelSession.id == ConsentRecord.session_id)
            .where(decided, ~first_text)
            .group_by(ConsentRecord.decision)
        )
    }
    clips_of_study = and_(Clip.session_id == PanelSession.id, of_study)
    clip_states = Progress()
    for status, count in session.execute(
        select(Clip.status, func.count()).where(clips_of_study).group_by(Clip.status)
    ):
        setattr(clip_states, str(status), count)
    usable_clips, usable_sessions, face_share = session.execute(
        select(
            func.count(Clip.id).filter(Clip.usable.is_(True)),
            func.count(distinct(Clip.session_id)).filter(Clip.usable.is_(True)),
            func.avg(Clip.face_found_share).filter(Clip.face_found_share.is_not(None)),
        ).where(clips_of_study)
    ).one()
    exclusions: dict[str, int] = {}
    for reason, count in session.execute(
        select(Clip.exclusion_reason, func.count())
        .where(clips_of_study, Clip.usable.is_(False))
        .group_by(Clip.exclusion_reason)
    ):
        exclusions[reason or "unknown"] = exclusions.get(reason or "unknown", 0) + count
    earlier = aliased(PanelSession)
    duplicate_sessions = session.scalar(
        select(func.count()).where(
            of_study,
            PanelSession.respondent_hash != "",
            exists().where(
                earlier.study_id == PanelSession.study_id,
                earlier.respondent_hash == PanelSession.respondent_hash,
                earlier.is_preview.is_(False),
                earlier.id < PanelSession.id,
            ),
        )
    )
    duplicate_clips = session.scalar(
        select(func.count(Clip.id)).where(
            clips_of_study,
            Clip.usable.is_(True),
            Clip.aggregated.is_(False),
            Clip.status == ClipStatus.DONE,
            duplicate_of_counted(),
        )
    )
    consented = decisions.get(ConsentDecision.AGREE.value, 0)
    declined = decisions.get(ConsentDecision.DECLINE.value, 0)
    return Quality(
        study_id=study_id,
        sessions=sum(by_status.values()),
        sessions_by_status=_by_outcome(by_status, restarted, erased),
        consent_decisions=consented + declined,
        consented=consented,
        declined=declined,
        consent_rate=consented / (consented + declined) if consented + declined else None,
        no_camera=by_status.get(SessionStatus.NO_CAMERA.value, 0),
        withdrawn=by_status.get(SessionStatus.WITHDRAWN.value, 0) - erased - restarted,
        erased_by_receipt=erased,
        restarted=restarted,
        duplicate_sessions=int(duplicate_sessions or 0),
        duplicate_clips_left_out=int(duplicate_clips or 0),
        on_device_fallback_agreed=fallback.get(ConsentDecision.AGREE.value, 0),
        on_device_fallback_declined=fallback.get(ConsentDecision.DECLINE.value, 0),
        decline_reasons=sorted(
            (DeclineReason(reason=r or NO_REASON, count=c) for r, c in reasons),
            key=lambda d: (-d.count, d.reason),
        ),
        usable_sessions=usable_sessions,
        clips=clip_states,
        usable_clips=usable_clips,
        face_found_share=float(face_share) if face_share is not None else None,
        exclusions={
            **{code: exclusions.pop(code, 0) for code in EXCLUSION_REASONS},
            **dict(sorted(exclusions.items())),
        },
    )
