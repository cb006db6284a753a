"""The organisation norm over many ads reads cached per-ad figures, refreshed when (and only
when) an ad's aggregates change, in whatever process changed them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.support.factories import make_ad, make_clip, make_study
from web.clips.aggregates import apply_clip
from web.clips.models import ClipSecond
from web.results import compare, service
from web.studies.models import Ad, Study


def _panelist(session: Session, ad: Ad, attention: float = 0.9) -> None:
    rows = make_clip(session, ad=ad)
    for second in range(3):
        session.add(
            ClipSecond(
                clip_id=rows.clip.id, ad_id=ad.id, second=second, n_frames=30,
                attention=attention, smile=0.3,
            )
        )  # fmt: skip
    session.flush()
    rows.clip.aggregated = apply_clip(session, rows.clip.id, +1) > 0
    session.flush()


def test_figures_are_computed_once_per_change_of_an_ad_s_aggregates(db_session: Session) -> None:
    study = make_study(db_session)
    ads = [make_ad(db_session, study, duration_s=3) for _ in range(6)]
    for ad in ads:
        _panelist(db_session, ad)
    computed = service.SUMMARY_CACHE.computed
    first = service.summaries(db_session, ads)
    assert service.SUMMARY_CACHE.computed == computed + 6
    assert [s.n for s in first] == [1] * 6

    again = service.summaries(db_session, ads)
    assert service.SUMMARY_CACHE.computed == computed + 6  # nothing recomputed
    assert again == first

    # Two more panelists of one ad (the ORM object still holds its old version: the version is
    # read afresh), one of them never attentive.
    _panelist(db_session, ads[2])
    _panelist(db_session, ads[2], attention=0.0)
    refreshed = service.summaries(db_session, ads)
    assert service.SUMMARY_CACHE.computed == computed + 7  # that ad only
    assert [s.n for s in refreshed] == [1, 1, 3, 1, 1, 1]
    assert refreshed[2].attention_share != first[2].attention_share
    assert refreshed[:2] == first[:2] and refreshed[3:] == first[3:]

    # A title is not a figure: renamed, it shows at once, and nothing is recomputed.
    ads[0].title = "Renamed"
    db_session.flush()
    assert service.summaries(db_session, ads)[0].title == "Renamed"
    assert service.SUMMARY_CACHE.computed == computed + 7


def test_the_organisation_norm_follows_a_change_of_one_ad(db_session: Session) -> None:
    study = make_study(db_session)
    organisation_id = db_session.get(Study, study.id).organisation_id  # type: ignore[union-attr]
    ads = [make_ad(db_session, study, duration_s=3) for _ in range(5)]
    for i, ad in enumerate(ads):
        _panelist(db_session, ad, attention=0.2 * (i + 1) - 0.1)
    before = compare.norms(db_session, organisation_id, min_ads=5)
    assert before.n_ads == 5
    assert before.figures["attention_share"] is not None
    for _ in range(3):
        _panelist(db_session, ads[0], attention=1.0)
    after = compare.norms(db_session, organisation_id, min_ads=5)
    assert after.figures["attention_share"] != before.figures["attention_share"]
    # The same as computing everything afresh.
    service.SUMMARY_CACHE.clear()
    assert compare.norms(db_session, organisation_id, min_ads=5) == after


def test_each_organisation_s_norm_is_its_own_and_follows_an_erasure(db_session: Session) -> None:
    """One organisation's change refreshes its norm and leaves the other's figures cached; a
    panelist erased (apply_clip -1, as the deletion step does) refreshes the norm too."""
    first, second = make_study(db_session), make_study(db_session)
    orgs = [db_session.get(Study, s.id).organisation_id for s in (first, second)]  # type: ignore[union-attr]
    assert orgs[0] != orgs[1]
    first_ads = [make_ad(db_session, first, duration_s=3) for _ in range(5)]
    second_ads = [make_ad(db_session, second, duration_s=3) for _ in range(5)]
    for i, ad in enumerate(first_ads):
        _panelist(db_session, ad, attention=0.1 * (i + 1))
    for i, ad in enumerate(second_ads):
        _panelist(db_session, ad, attention=0.9 - 0.1 * i)
    before = [compare.norms(db_session, org, min_ads=5) for org in orgs]
    assert [n.n_ads for n in before] == [5, 5]
    assert before[0].figures["attention_share"] != before[1].figures["attention_share"]

    computed = service.SUMMARY_CACHE.computed
    extra = make_clip(db_session, ad=first_ads[0])
    db_session.add_all(
        ClipSecond(clip_id=extra.clip.id, ad_id=first_ads[0].id, second=s, n_frames=30,
                   attention=1.0, smile=0.3)
        for s in range(3)
    )  # fmt: skip
    db_session.flush()
    extra.clip.aggregated = apply_clip(db_session, extra.clip.id, +1) > 0
    db_session.flush()
    changed = [compare.norms(db_session, org, min_ads=5) for org in orgs]
    assert service.SUMMARY_CACHE.computed == computed + 1  # the changed ad only
    assert changed[0].figures["attention_share"] != before[0].figures["attention_share"]
    assert changed[1] == before[1]

    # The panelist erased: the figures are those from before it, computed again, not stale.
    apply_clip(db_session, extra.clip.id, -1)
    db_session.flush()
    erased = compare.norms(db_session, orgs[0], min_ads=5)
    assert service.SUMMARY_CACHE.computed == computed + 2
    assert erased.figures["attention_share"] == before[0].figures["attention_share"]
    service.SUMMARY_CACHE.clear()
    assert compare.norms(db_session, orgs[0], min_ads=5) == erased
