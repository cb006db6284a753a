"""On-device and server-mode curves are not pooled without a measured calibration (issue 22):
within an on-device study, a panelist analysed on the server (the fallback) stays out of the
ad's aggregates and export and is counted apart in data quality; across studies, a norm is over
one mode's ads, and ads of both modes are not compared."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus, ConsentDecision
from tests.support.factories import add_consent_text, make_ad, make_clip, make_study
from web.accounts.models import Organisation
from web.clips.aggregates import apply_clip
from web.clips.models import AdAggregate, Clip, ClipSecond, ConsentRecord, PanelSession
from web.errors import Invalid
from web.results import compare, quality
from web.results.export import included_clips
from web.studies.models import Ad, ConsentText, Integration


def _panelist(session: Session, ad: Ad, on_device: bool, attention: float) -> PanelSession:
    rows = make_clip(session, ad)
    rows.panel_session.on_device = on_device
    rows.clip.status = ClipStatus.DONE
    rows.clip.usable = True
    for second in range(3):
        session.add(
            ClipSecond(
                clip_id=rows.clip.id, ad_id=ad.id, second=second, n_frames=15, attention=attention
            )
        )
    session.flush()
    rows.clip.aggregated = apply_clip(session, rows.clip.id, +1) > 0
    session.flush()
    return rows.panel_session


def _consent(session: Session, panel_session: PanelSession, text: ConsentText, agree: bool) -> None:
    session.add(
        ConsentRecord(
            session_id=panel_session.id,
            consent_text_id=text.id,
            text_sha256=text.sha256,
            locale=text.locale,
            decision=ConsentDecision.AGREE if agree else ConsentDecision.DECLINE,
        )
    )
    session.flush()


def test_a_server_fallback_panelist_is_not_pooled_into_an_on_device_study(
    db_session: Session,
) -> None:
    study = make_study(db_session, on_device=True)
    ad = make_ad(db_session, study)
    on_device = _panelist(db_session, ad, True, 1.0)
    fallback = _panelist(db_session, ad, False, 0.0)
    cells = db_session.scalars(
        select(AdAggregate).where(
            AdAggregate.ad_id == ad.id,
            AdAggregate.segment_var == "",
            AdAggregate.metric == "attention",
        )
    ).all()
    assert cells and all(c.n == 1 and c.sum == 1.0 for c in cells), "only the on-device one"
    exported = set(db_session.scalars(included_clips(ad.id)))
    mine = db_session.scalar(select(Clip.id).where(Clip.session_id == on_device.id))
    theirs = db_session.scalar(select(Clip.id).where(Clip.session_id == fallback.id))
    assert exported == {mine} and theirs not in exported
    # Removing the fallback clip is the exact inverse of adding it: nothing.
    assert apply_clip(db_session, theirs, -1) == 0

    # Data quality counts the fallback answers apart; the consent rate stays the first text's.
    integration = db_session.get(Integration, on_device.integration_id)
    assert integration is not None
    main = add_consent_text(db_session, integration, "en", "Numbers only.", 2)
    main.on_device = True
    server = add_consent_text(db_session, integration, "en", "Your video would be sent.", 3)
    server.fallback = True
    declined = _panelist(db_session, ad, True, 1.0)
    for panel_session in (on_device, fallback, declined):
        _consent(db_session, panel_session, main, True)
    _consent(db_session, fallback, server, True)
    _consent(db_session, declined, server, False)
    q = quality.quality(db_session, study.id)
    assert (q.consented, q.declined, q.consent_rate) == (3, 0, 1.0)
    assert (q.on_device_fallback_agreed, q.on_device_fallback_declined) == (1, 1)


def test_norms_are_over_one_mode_and_modes_are_not_compared(db_session: Session) -> None:
    device_study = make_study(db_session, on_device=True)
    organisation = db_session.get(Organisation, device_study.organisation_id)
    server_study = make_study(db_session, organisation)
    device_ad = make_ad(db_session, device_study)
    server_ad = make_ad(db_session, server_study)
    _panelist(db_session, device_ad, True, 1.0)
    _panelist(db_session, server_ad, False, 0.5)
    org = device_study.organisation_id
    assert compare.organisation_ads(db_session, org, on_device=True) == [device_ad]
    assert compare.organisation_ads(db_session, org, on_device=False) == [server_ad]
    summaries = compare.summaries(db_session, [device_ad, server_ad])
    assert [s.ad_id for s in compare.same_mode(db_session, summaries, True)] == [device_ad.id]
    assert [s.ad_id for s in compare.same_mode(db_session, summaries, False)] == [server_ad.id]
    assert compare.norms(db_session, org, 1, on_device=True).n_ads == 1
    with pytest.raises(Invalid, match="not calibrated"):
        compare.compare(db_session, [device_ad, server_ad], org, 1)
    second_device = make_ad(db_session, device_study)
    _panelist(db_session, second_device, True, 0.8)
    both = compare.compare(db_session, [device_ad, second_device], org, 1)
    assert len(both.ads) == 2
