"""One respondent of one integration is one session (issue 11): a reload resumes it (with the
resume token the browser kept), coming back after it ended supersedes it, and a receipt erases
everything of that respondent in the study."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus, SessionStatus
from tests.support import panel
from tests.support.factories import give_signing_secret, make_ad, make_integration, make_study
from web.clips.aggregates import apply_clip
from web.clips.models import AdAggregate, Clip, ClipSecond, PanelSession
from web.panel import tokens
from web.settings import Settings
from web.studies.models import Integration

API = panel.API


def _integration(db_session: Session) -> Integration:
    study = make_study(db_session)
    make_ad(db_session, study)
    make_ad(db_session, study)
    integration = make_integration(db_session, study)
    db_session.refresh(study)
    return integration


def _analysed(db_session: Session, clip_public_id: str) -> Clip:
    """The clip as the worker leaves it: three seconds of curves, counted in the aggregates."""
    clip = db_session.scalar(select(Clip).where(Clip.public_id == uuid.UUID(clip_public_id)))
    assert clip is not None
    db_session.add_all(
        ClipSecond(clip_id=clip.id, ad_id=clip.ad_id, second=s, attention=1.0, n_frames=15)
        for s in range(3)
    )
    clip.status, clip.usable, clip.video_deleted_at = ClipStatus.DONE, True, clip.created_at
    db_session.flush()
    clip.aggregated = apply_clip(db_session, clip.id, +1) > 0  # as the worker records it
    db_session.flush()
    return clip


def _counted(db_session: Session) -> int:
    db_session.expire_all()
    return int(db_session.scalar(select(func.coalesce(func.max(AdAggregate.n), 0))) or 0)


def _sessions(db_session: Session) -> list[PanelSession]:
    db_session.expire_all()
    return list(db_session.scalars(select(PanelSession).order_by(PanelSession.id)))


def test_a_reload_resumes_the_same_session_with_what_it_recorded(
    client: TestClient, db_session: Session
) -> None:
    integration = _integration(db_session)
    first = panel.start(client, integration, "R_42")
    receipt = panel.consent(client, first)["receipt_code"]
    clip_id = panel.open_clip(client, first)
    panel.upload(client, first, clip_id, [b"zero", b"one"])

    again = panel.start(client, integration, "R_42", resume_token=first.resume_token)
    assert again.session_id == first.session_id, "one respondent, one session"
    assert again.resume_token == first.resume_token, "the browser keeps the same one"
    assert again.ad_ids == first.ad_ids, "the same ad order"
    assert again.body["recorded_ads"] == [first.ad_ids[0]]
    assert panel.consent(client, again)["receipt_code"] == receipt, "the same receipt"
    # The resumed recorder sends the rest of the interrupted clip with its new token.
    assert panel.put_chunk(client, again, clip_id, 2, b"two").status_code == 201
    assert [s.status for s in _sessions(db_session)] == [SessionStatus.CONSENTED]
    # Someone else is someone else.
    assert panel.start(client, integration, "R_43").session_id != first.session_id


def test_coming_back_signed_after_the_end_supersedes_the_old_session_on_agreeing(
    client: TestClient, db_session: Session
) -> None:
    integration = _integration(db_session)
    secret = give_signing_secret(db_session, integration)
    first = panel.start(client, integration, "R_42", secret=secret)
    panel.consent(client, first)
    _analysed(db_session, panel.open_clip(client, first))
    ended = client.post(
        f"{API}/sessions/{first.session_id}/end", headers=first.headers, json={"status": "complete"}
    )
    assert ended.status_code == 200
    assert _counted(db_session) == 1

    second = panel.start(client, integration, "R_42", secret=secret)
    assert second.session_id != first.session_id
    assert _counted(db_session) == 1, "opening the link again erases nothing"
    panel.consent(client, second, "agree")
    old, new = _sessions(db_session)
    assert old.status == SessionStatus.WITHDRAWN and old.respondent_hash == ""
    assert new.status == SessionStatus.CONSENTED
    assert _counted(db_session) == 0, "the first session's seconds are no longer counted"
    assert db_session.scalar(select(func.count()).select_from(Clip)) == 0


def test_a_signed_receipt_erases_every_session_of_that_respondent_in_the_study(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    integration = _integration(db_session)
    secret = give_signing_secret(db_session, integration)
    first = panel.start(client, integration, "R_42", secret=secret)
    panel.consent(client, first)
    _analysed(db_session, panel.open_clip(client, first))
    # A second session of the same respondent, as made before sessions were resumed (ended:
    # the database holds one live session per respondent).
    duplicate = PanelSession(
        integration_id=integration.id,
        study_id=integration.study_id,
        respondent_hash=tokens.respondent_hash(settings, "R_42"),
        status=SessionStatus.COMPLETE,
        ad_order=first.ad_ids,
    )
    db_session.add(duplicate)
    db_session.flush()
    dup_clip = Clip(session_id=duplicate.id, ad_id=first.ad_ids[0], mime_type="video/webm")
    db_session.add(dup_clip)
    db_session.flush()
    _analysed(db_session, str(dup_clip.public_id))
    other = panel.start(client, integration, "R_43")
    panel.consent(client, other)
    _analysed(db_session, panel.open_clip(client, other))
    # The duplicate's clip of the same ad is kept but left out: one clip per id per ad counts.
    assert _counted(db_session) == 2

    receipt = panel.consent(client, first)["receipt_code"]
    assert client.post(f"{API}/erase", json={"receipt_code": receipt}).status_code == 200
    assert _counted(db_session) == 1, "only the other respondent is left"
    statuses = {s.id: s.status for s in _sessions(db_session)}
    assert statuses[duplicate.id] == SessionStatus.WITHDRAWN
    assert list(statuses.values()).count(SessionStatus.WITHDRAWN) == 2
