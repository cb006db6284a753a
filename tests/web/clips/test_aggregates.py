"""apply_clip adds and removes a clip's seconds exactly, per segment."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.factories import make_clip
from web.clips.aggregates import apply_clip
from web.clips.models import AdAggregate, ClipSecond


def _cells(session: Session, ad_id: int) -> dict[tuple[str, str, str, int], tuple[int, float]]:
    rows = session.scalars(select(AdAggregate).where(AdAggregate.ad_id == ad_id)).all()
    return {(r.segment_var, r.segment_value, r.metric, r.second): (r.n, r.sum) for r in rows}


def test_two_clips_sum_then_withdrawal_subtracts(db_session: Session) -> None:
    first = make_clip(db_session, passthrough={"age": "18-24"})
    second = make_clip(db_session, ad=first.ad, passthrough={"age": "25-34"})
    for clip, smile in ((first.clip, 0.2), (second.clip, 0.6)):
        db_session.add(
            ClipSecond(
                clip_id=clip.id, ad_id=clip.ad_id, second=0, n_frames=30, attention=1.0, smile=smile
            )
        )
    db_session.flush()
    apply_clip(db_session, first.clip.id, +1)
    apply_clip(db_session, second.clip.id, +1)

    cells = _cells(db_session, first.ad.id)
    assert cells[("", "", "smile", 0)] == (2, pytest.approx(0.8))
    assert cells[("age", "18-24", "smile", 0)] == (1, pytest.approx(0.2))
    assert cells[("", "", "attention", 0)] == (2, pytest.approx(2.0))
    # A metric that is None (here brow_raise) contributes nothing, not a zero.
    assert ("", "", "brow_raise", 0) not in cells

    apply_clip(db_session, first.clip.id, -1)
    cells = _cells(db_session, first.ad.id)
    assert cells[("", "", "smile", 0)] == (1, pytest.approx(0.6))
    assert cells[("age", "18-24", "smile", 0)] == (0, pytest.approx(0.0))


def test_sign_must_be_one(db_session: Session) -> None:
    with pytest.raises(ValueError, match="sign"):
        apply_clip(db_session, 1, 2)


def test_a_preview_sessions_clip_touches_no_aggregate(db_session: Session) -> None:
    panelist = make_clip(db_session, passthrough={"age": "18-24"})
    designer = make_clip(db_session, ad=panelist.ad, passthrough={"age": "18-24"})
    designer.panel_session.is_preview = True
    for clip in (panelist.clip, designer.clip):
        db_session.add(
            ClipSecond(
                clip_id=clip.id, ad_id=clip.ad_id, second=0, n_frames=30, attention=1.0, smile=0.5
            )
        )
    db_session.flush()
    assert apply_clip(db_session, panelist.clip.id, +1) > 0
    counted = _cells(db_session, panelist.ad.id)
    assert apply_clip(db_session, designer.clip.id, +1) == 0
    assert apply_clip(db_session, designer.clip.id, -1) == 0
    assert _cells(db_session, panelist.ad.id) == counted
    assert counted[("", "", "smile", 0)] == (1, pytest.approx(0.5))


def test_a_nan_left_in_a_row_is_no_observation_and_never_a_zero(db_session: Session) -> None:
    """An older writer may have left NaN (PostgreSQL keeps it): it adds nothing, and one NaN
    does not turn the second's sum into NaN for every other panelist."""
    first = make_clip(db_session)
    second = make_clip(db_session, ad=first.ad)
    for clip, smile in ((first.clip, float("nan")), (second.clip, 0.4)):
        db_session.add(
            ClipSecond(
                clip_id=clip.id, ad_id=clip.ad_id, second=0, n_frames=30, attention=1.0, smile=smile
            )
        )
    db_session.flush()
    apply_clip(db_session, first.clip.id, +1)
    apply_clip(db_session, second.clip.id, +1)
    assert _cells(db_session, first.ad.id)[("", "", "smile", 0)] == (1, pytest.approx(0.4))
    apply_clip(db_session, first.clip.id, -1)
    assert _cells(db_session, first.ad.id)[("", "", "smile", 0)] == (1, pytest.approx(0.4))
