"""Two workers saving clips of one unsigned respondent id at the same moment: exactly one of
them is counted (the duplicate rule holds under concurrency, on real PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus, SessionStatus
from tests.support.committed import Committed, committed  # noqa: F401  (fixture)
from tests.support.factories import make_ad, make_integration, make_study
from web.clips.aggregates import apply_clip
from web.clips.models import AdAggregate, Clip, ClipSecond, PanelSession


def test_concurrent_saves_of_one_respondent_count_one_clip(
    committed: tuple[Committed, Session],  # noqa: F811
) -> None:
    helper, session = committed
    study = make_study(session)
    ad = make_ad(session, study)
    integration = make_integration(session, study)
    clip_ids = []
    for _ in range(2):
        panel_session = PanelSession(
            integration_id=integration.id, study_id=study.id, respondent_hash="f" * 64,
            status=SessionStatus.COMPLETE, ad_order=[ad.id],
        )  # fmt: skip
        session.add(panel_session)
        session.flush()
        clip = Clip(
            session_id=panel_session.id, ad_id=ad.id, mime_type="video/webm",
            status=ClipStatus.DONE, usable=True,
        )  # fmt: skip
        session.add(clip)
        session.flush()
        session.add_all(
            ClipSecond(clip_id=clip.id, ad_id=ad.id, second=s, attention=1.0, n_frames=15)
            for s in range(3)
        )
        clip_ids.append(clip.id)
    session.commit()
    both_looked = threading.Barrier(2)

    def save(clip_id: int) -> bool:
        """As worker/clip_job.py does: apply, record `aggregated`, commit."""
        with helper.factory() as worker:
            worker.execute(select(1))  # a transaction of its own, begun before the other's end
            both_looked.wait(timeout=10)
            counted = apply_clip(worker, clip_id, +1) > 0
            row = worker.get(Clip, clip_id)
            assert row is not None
            row.aggregated = counted
            worker.commit()
            return counted

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(save, clip_ids))
    assert sorted(outcomes) == [False, True]
    with helper.factory() as check:
        n = check.scalar(select(func.max(AdAggregate.n)).where(AdAggregate.ad_id == ad.id))
        assert n == 1
