"""rebuild_aggregates (the bulk seed's and a check's) writes the cells apply_clip's running sums
hold; every change to an ad's aggregates gives it a new aggregate_version."""

from __future__ import annotations

import math
import random

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.factories import make_clip
from web.clips.aggregates import apply_clip, rebuild_aggregates
from web.clips.models import AdAggregate, ClipEmotionSecond, ClipSecond
from web.studies.models import Ad

Cells = dict[tuple[str, str, str, int], tuple[int, float, float]]


def _cells(session: Session, ad_id: int) -> Cells:
    rows = session.scalars(select(AdAggregate).where(AdAggregate.ad_id == ad_id)).all()
    return {
        (r.segment_var, r.segment_value, r.metric, r.second): (r.n, r.sum, r.sumsq)
        for r in rows
        if r.n  # apply_clip's -1 leaves zeroed cells behind; a rebuild has none
    }


def _version(session: Session, ad_id: int) -> int:
    return session.scalar(select(Ad.aggregate_version).where(Ad.id == ad_id)) or 0


def test_a_rebuild_gives_the_cells_apply_clip_keeps(db_session: Session) -> None:
    rng = random.Random(3)
    first = make_clip(db_session, passthrough={"age": "18-24", "country": "FR"})
    ad = first.ad
    clips = [first]
    passthroughs: list[dict[str, object]] = [
        {"age": "25-34", "country": ""},  # an empty value is no segment
        {"age": None, "country": "DE"},  # nor is a missing one
        {"a" * 80: "v" * 250},  # names and values cut to 64 and 200 characters
        {},
        {"age": "18-24", "country": "FR"},
    ]
    clips += [make_clip(db_session, ad=ad, passthrough=p) for p in passthroughs]
    preview = make_clip(db_session, ad=ad, passthrough={"age": "18-24"})
    preview.panel_session.is_preview = True  # never counted
    duplicate = make_clip(db_session, ad=ad, passthrough={"age": "55+"})
    duplicate.panel_session.respondent_hash = first.panel_session.respondent_hash
    withdrawn = make_clip(db_session, ad=ad, passthrough={"age": "55+"})
    for rows in [*clips, preview, duplicate, withdrawn]:
        for second in range(4):
            flagged = rows is clips[3] and second == 2
            db_session.add(
                ClipSecond(
                    clip_id=rows.clip.id, ad_id=ad.id, second=second, n_frames=30,
                    flag="hidden" if flagged else None,
                    attention=None if flagged else rng.random(),
                    smile=None if flagged or second == 1 else rng.random(),
                    brow_raise=float("nan") if second == 3 else rng.random(),
                )
            )  # fmt: skip
            if rows is not clips[4]:
                db_session.add(
                    ClipEmotionSecond(
                        clip_id=rows.clip.id, ad_id=ad.id, second=second, joy=rng.random(),
                        valence=rng.uniform(-1, 1),
                    )
                )  # fmt: skip
    db_session.flush()
    for rows in [*clips, preview, duplicate, withdrawn]:
        rows.clip.aggregated = apply_clip(db_session, rows.clip.id, +1) > 0
    assert not preview.clip.aggregated and not duplicate.clip.aggregated
    assert apply_clip(db_session, withdrawn.clip.id, -1) > 0  # counted, then withdrawn
    withdrawn.clip.aggregated = False
    db_session.flush()
    kept = _cells(db_session, ad.id)
    assert ("a" * 64, "v" * 200, "smile", 0) in kept
    assert ("country", "", "smile", 0) not in kept and ("age", "None", "smile", 0) not in kept
    version = _version(db_session, ad.id)

    assert rebuild_aggregates(db_session, ad.id) == len(kept)
    db_session.flush()
    rebuilt = _cells(db_session, ad.id)
    assert rebuilt.keys() == kept.keys()
    for key, (n, total, total_sq) in kept.items():
        assert rebuilt[key][0] == n, key
        assert rebuilt[key][1] == pytest.approx(total, abs=1e-9), key
        assert rebuilt[key][2] == pytest.approx(total_sq, abs=1e-9), key
        assert all(math.isfinite(v) for v in rebuilt[key])
    assert _version(db_session, ad.id) not in (0, version)


def test_every_change_to_an_ad_s_aggregates_gives_a_new_version(db_session: Session) -> None:
    rows = make_clip(db_session)
    db_session.add(
        ClipSecond(clip_id=rows.clip.id, ad_id=rows.ad.id, second=0, n_frames=30, attention=1.0)
    )
    db_session.flush()
    seen = [_version(db_session, rows.ad.id)]
    assert seen == [0]
    for sign in (+1, -1, +1):
        apply_clip(db_session, rows.clip.id, sign)
        seen.append(_version(db_session, rows.ad.id))
    assert len(set(seen)) == 4
    # Nothing counted, nothing changed: no new version.
    rows.panel_session.is_preview = True
    db_session.flush()
    assert apply_clip(db_session, rows.clip.id, +1) == 0
    assert _version(db_session, rows.ad.id) == seen[-1]
