"""Clip ids are never reused (issue 11): on SQLite an erased clip's id went to the next clip, so
the erased clip's deletion audit rows named another clip."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from candor.migrations import alembic_config
from tests.support.factories import make_ad, make_integration, make_study
from web.clips.models import Clip, DeletionAudit, PanelSession
from web.db import make_engine


def test_an_erased_clips_id_is_never_given_again_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'candor.db'}"
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with Session(engine) as session:
        study = make_study(session)
        ad = make_ad(session, study)
        integration = make_integration(session, study)
        panel_session = PanelSession(
            integration_id=integration.id, study_id=study.id, respondent_hash="h", ad_order=[ad.id]
        )
        session.add(panel_session)
        session.flush()
        erased = Clip(session_id=panel_session.id, ad_id=ad.id, mime_type="video/webm")
        session.add(erased)
        session.flush()
        session.add(DeletionAudit(clip_id=erased.id, sha256="0" * 64, bytes=1, reason="erased"))
        session.execute(delete(Clip).where(Clip.id == erased.id))
        session.commit()

        later = Clip(session_id=panel_session.id, ad_id=ad.id, mime_type="video/webm")
        session.add(later)
        session.commit()
        assert later.id != erased.id
        audit = session.scalar(select(DeletionAudit))
        assert audit is not None and session.get(Clip, audit.clip_id) is None
    command.downgrade(alembic_config(url), "0005_firstrun")
    command.upgrade(alembic_config(url), "head")
    engine.dispose()
