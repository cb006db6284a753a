"""Results read from the aggregates agree with the per-panelist numbers; quality and progress."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus, ConsentDecision, SessionStatus
from tests.support.factories import make_ad, make_clip, make_study
from tests.web.results.seed import add_panelist, flat
from web.accounts.models import Organisation
from web.clips.aggregates import apply_clip
from web.clips.models import AdAggregate, Clip, ConsentRecord, PanelSession
from web.results import compare, quality, service
from web.results.moments import KEY_MOMENT_MIN_LIFT
from web.settings import Settings
from web.studies.models import ConsentText


def test_curves_equal_direct_statistics(db_session: Session, settings: Settings) -> None:
    rng = np.random.default_rng(7)
    study = make_study(db_session)
    ad = make_ad(db_session, study, duration_s=4.5)
    attention = rng.uniform(0.5, 1.0, size=(12, 5))
    smile = rng.uniform(0.0, 0.6, size=(12, 5))
    for i in range(12):
        smiles: list[float | None] = list(smile[i])
        if i < 3:
            smiles[2] = None  # three panelists were not attentive in second 2
        add_panelist(db_session, ad, {"attention": list(attention[i]), "smile": smiles})

    curves = service.ad_curves(db_session, ad, study, settings)
    assert curves.seconds == [0, 1, 2, 3, 4]
    assert curves.overall.n == 12
    att = curves.overall.curves["attention"]
    for second in range(5):
        column = attention[:, second]
        low, high = stats.t.interval(0.95, 11, loc=column.mean(), scale=stats.sem(column))
        assert att.n[second] == 12
        assert att.mean[second] == pytest.approx(column.mean())
        assert att.ci_low[second] == pytest.approx(max(low, 0.0), abs=1e-4)
        assert att.ci_high[second] == pytest.approx(min(high, 1.0), abs=1e-4)
    sm = curves.overall.curves["smile"]
    assert sm.n[2] == 9
    assert sm.mean[2] == pytest.approx(smile[3:, 2].mean())
    assert curves.overall.curves["jaw_drop"].mean == [None] * 5


def test_summaries_and_moments_from_aggregates(db_session: Session, settings: Settings) -> None:
    study = make_study(db_session)
    ad = make_ad(db_session, study, duration_s=10)
    smile = [0.1] * 10
    smile[6] = 0.7
    for _ in range(4):
        add_panelist(
            db_session, ad, {"attention": flat(0.8, 10), "smile": smile, "blinks": flat(0.25, 10)}
        )
    summary = service.summaries(db_session, [ad])[0]
    assert summary.n == 4
    assert summary.attention_share == pytest.approx(0.8)
    assert summary.smile_peak_s == 6
    assert summary.smile_peak == pytest.approx(0.7)
    assert summary.blink_rate_per_min == pytest.approx(15.0)
    moments = service.moments_for(service.ad_curves(db_session, ad, study, settings))
    assert [(m.rank, m.second, m.metric) for m in moments.moments] == [(1, 6, "smile")]


def test_norms_cover_every_ad_of_the_organisation(db_session: Session) -> None:
    study = make_study(db_session)
    other_study = make_study(db_session, db_session.get(Organisation, study.organisation_id))
    for st, share in ((study, 0.2), (study, 0.4), (other_study, 0.9)):
        ad = make_ad(db_session, st, duration_s=3)
        add_panelist(db_session, ad, {"attention": flat(share, 3)})
    make_ad(db_session, study)  # an ad with no data is not a zero in the norms
    norms = compare.norms(db_session, study.organisation_id, 2)
    assert norms.n_ads == 3
    q = norms.figures["attention_share"]
    assert q is not None
    assert (q.q1, q.median, q.q3) == pytest.approx((0.3, 0.4, 0.65))


def test_compare_normalises_time_when_lengths_differ(db_session: Session) -> None:
    study = make_study(db_session)
    short = make_ad(db_session, study, duration_s=10)
    long = make_ad(db_session, study, duration_s=20)
    add_panelist(db_session, short, {"attention": [(s + 0.5) / 10 for s in range(10)]})
    add_panelist(db_session, long, {"attention": [(s + 0.5) / 20 for s in range(20)]})
    comparison = compare.compare(db_session, [short, long], study.organisation_id, 2)
    assert comparison.axis == "percent"
    assert len(comparison.x) == 100
    a = comparison.ads[0].curves["attention"].mean
    b = comparison.ads[1].curves["attention"].mean
    assert a[5:95] == pytest.approx(b[5:95])
    assert a[50] == pytest.approx(0.505)
    band = comparison.norms_band["attention"]
    assert band.n_ads == 2
    assert band.median[50] == pytest.approx(a[50])

    same = make_ad(db_session, study, duration_s=9.6)
    add_panelist(db_session, same, {"attention": flat(0.5, 10)})
    equal = compare.compare(db_session, [short, same], study.organisation_id, 2)
    assert equal.axis == "seconds"
    assert equal.x == [s + 0.5 for s in range(10)]
    with pytest.raises(ValueError, match="two or more"):
        compare.compare(db_session, [short], study.organisation_id, 2)


def test_withdrawn_clip_leaves_the_curves(db_session: Session, settings: Settings) -> None:
    study = make_study(db_session)
    ad = make_ad(db_session, study, duration_s=2)
    keep = add_panelist(db_session, ad, {"attention": flat(1.0, 2)})
    gone = add_panelist(db_session, ad, {"attention": flat(0.0, 2)})
    apply_clip(db_session, gone.clip.id, -1)
    curves = service.ad_curves(db_session, ad, study, settings)
    assert curves.overall.curves["attention"].mean == [1.0, 1.0]
    assert curves.overall.n == 1
    assert keep.clip.id != gone.clip.id


def test_progress_and_quality(db_session: Session) -> None:
    study = make_study(db_session)
    ad = make_ad(db_session, study, duration_s=2)
    add_panelist(db_session, ad, {"attention": flat(1.0, 2)}, face_found_share=0.9)
    add_panelist(db_session, ad, {"attention": flat(1.0, 2)}, face_found_share=0.7)
    for reason in ("no_face", "no_face", "too_dark", "bystander", "shaky"):
        add_panelist(
            db_session, ad, {"attention": flat(0.0, 2)}, usable=False, exclusion_reason=reason,
            face_found_share=0.2,
        )  # fmt: skip
    queued = make_clip(db_session, ad)
    queued.clip.status = ClipStatus.QUEUED
    processing = make_clip(db_session, ad)
    processing.clip.status = ClipStatus.PROCESSING
    failed = make_clip(db_session, ad)
    failed.clip.status = ClipStatus.FAILED
    db_session.flush()

    progress = quality.progress_by_ad(db_session, [ad.id])[ad.id]
    assert (progress.done, progress.queued, progress.processing, progress.failed) == (7, 1, 1, 1)
    assert progress.pending == 2

    # Consent: every clip's session agreed; add declines and other statuses by hand.
    text = db_session.query(ConsentText).filter_by(locale="en").first()
    assert text is not None
    sessions = [make_clip(db_session, ad).panel_session for _ in range(3)]
    for panel_session, reason in zip(sessions, ["privacy", "privacy", None], strict=True):
        panel_session.status = SessionStatus.DECLINED
        db_session.add(
            ConsentRecord(
                session_id=panel_session.id, consent_text_id=text.id, text_sha256=text.sha256,
                locale="en", decision=ConsentDecision.DECLINE, decline_reason=reason,
            )
        )  # fmt: skip
    db_session.flush()
    consenting = db_session.scalars(
        select(PanelSession).join(Clip).where(Clip.status == ClipStatus.DONE)
    ).all()
    for panel_session in consenting:
        panel_session.status = SessionStatus.COMPLETE
        db_session.add(
            ConsentRecord(
                session_id=panel_session.id, consent_text_id=text.id, text_sha256=text.sha256,
                locale="en", decision=ConsentDecision.AGREE,
            )
        )  # fmt: skip
    queued.panel_session.status = SessionStatus.NO_CAMERA
    processing.panel_session.status = SessionStatus.WITHDRAWN
    db_session.flush()

    q = quality.quality(db_session, study.id)
    assert q.sessions == 13
    assert (q.consented, q.declined) == (7, 3)
    assert q.consent_rate == pytest.approx(0.7)
    assert (q.no_camera, q.withdrawn) == (1, 1)
    assert [(r.reason, r.count) for r in q.decline_reasons] == [
        ("privacy", 2),
        ("(no reason given)", 1),
    ]
    assert q.usable_sessions == 2
    assert q.usable_clips == 2
    assert q.face_found_share == pytest.approx((0.9 + 0.7 + 5 * 0.2) / 7)
    assert q.exclusions == {
        "no_face": 2,
        "bystander": 1,
        "too_dark": 1,
        "too_short": 0,
        "occluded": 0,
        "implausible": 0,
        "incomplete": 0,
        "shaky": 1,
    }


def test_preview_runs_are_left_out_of_progress_and_quality(db_session: Session) -> None:
    study = make_study(db_session)
    ad = make_ad(db_session, study, duration_s=2)

    def decide(panel_session: PanelSession, decision: ConsentDecision) -> None:
        text = db_session.query(ConsentText).filter_by(locale="en").first()
        assert text is not None
        agreed = decision == ConsentDecision.AGREE
        db_session.add(
            ConsentRecord(
                session_id=panel_session.id, consent_text_id=text.id, text_sha256=text.sha256,
                locale="en", decision=decision, decline_reason=None if agreed else "privacy",
            )
        )  # fmt: skip
        panel_session.status = SessionStatus.COMPLETE if agreed else SessionStatus.DECLINED
        db_session.flush()

    decide(
        add_panelist(db_session, ad, {"attention": flat(1.0, 2)}).panel_session,
        ConsentDecision.AGREE,
    )
    decide(make_clip(db_session, ad).panel_session, ConsentDecision.DECLINE)
    before = (quality.quality(db_session, study.id), quality.progress_by_ad(db_session, [ad.id]))
    assert (before[0].sessions, before[0].consented, before[0].declined) == (2, 1, 1)

    # The designer previews three times: analysed, declined, and one still being processed.
    for preview in (
        add_panelist(db_session, ad, {"attention": flat(0.0, 2)}, preview=True),
        add_panelist(
            db_session,
            ad,
            {"attention": flat(0.0, 2)},
            preview=True,
            usable=False,
            exclusion_reason="too_dark",
            face_found_share=0.1,
        ),
    ):
        decide(preview.panel_session, ConsentDecision.AGREE)
    declined = make_clip(db_session, ad).panel_session
    declined.is_preview = True
    decide(declined, ConsentDecision.DECLINE)
    queued = make_clip(db_session, ad)
    queued.panel_session.is_preview = True
    queued.clip.status = ClipStatus.QUEUED
    db_session.flush()

    after = (quality.quality(db_session, study.id), quality.progress_by_ad(db_session, [ad.id]))
    assert after == before


def test_key_moments_from_hand_made_aggregates_skip_a_tiny_bump(
    db_session: Session, settings: Settings
) -> None:
    study = make_study(db_session)
    ad = make_ad(db_session, study, duration_s=10)
    n = 20

    def cells(metric: str, means: list[float]) -> None:
        # Every panelist at the mean: sum = n * mean, sumsq = n * mean^2.
        db_session.add_all(
            AdAggregate(
                ad_id=ad.id, segment_var="", segment_value="", metric=metric, second=second,
                n=n, sum=n * mean, sumsq=n * mean * mean,
            )
            for second, mean in enumerate(means)
        )  # fmt: skip

    cells("attention", [0.9] * 10)
    # QA's case: a brow furrow resting at 0 that reaches 0.02 at 4 s.
    cells("brow_furrow", [0.0, 0.0, 0.0, 0.0, 0.02, 0.0, 0.0, 0.0, 0.0, 0.0])
    # A smile that rises from 0.1 to 0.45 at 7 s.
    cells("smile", [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.45, 0.1, 0.1])
    db_session.flush()

    moments = service.moments_for(service.ad_curves(db_session, ad, study, settings))
    assert [(m.second, m.metric) for m in moments.moments] == [(7, "smile")]
    assert moments.moments[0].lift == pytest.approx(0.35)
    assert moments.min_lift == KEY_MOMENT_MIN_LIFT == 0.1
