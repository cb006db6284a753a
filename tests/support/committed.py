"""Rows that are really committed (for tests with other processes: servers, workers), removed
again at the end of the test by deleting their organisation (everything cascades from it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from web.accounts.models import Organisation
from web.clips.models import Clip, DeletionAudit, PanelSession
from web.studies.models import Study


class Committed:
    """A session factory on the real database that remembers what to clean up."""

    def __init__(self, engine: Engine) -> None:
        self.factory = sessionmaker(bind=engine, expire_on_commit=False)

    def cleanup(self, organisation_ids: list[int]) -> None:
        with self.factory() as session:
            clip_ids = session.scalars(
                select(Clip.id)
                .join(PanelSession, Clip.session_id == PanelSession.id)
                .join(Study, PanelSession.study_id == Study.id)
                .where(Study.organisation_id.in_(organisation_ids))
            ).all()
            session.execute(delete(DeletionAudit).where(DeletionAudit.clip_id.in_(clip_ids)))
            session.execute(delete(Organisation).where(Organisation.id.in_(organisation_ids)))
            session.commit()


@pytest.fixture
def committed(pg_engine: Engine) -> Iterator[tuple[Committed, Session]]:
    """(helper, session): rows added through the session are committed; organisations created
    during the test are deleted afterwards, with everything under them."""
    helper = Committed(pg_engine)
    with helper.factory() as probe:
        before = set(probe.scalars(select(Organisation.id)))
    session = helper.factory()
    try:
        yield helper, session
    finally:
        session.close()
        with helper.factory() as probe:
            created = set(probe.scalars(select(Organisation.id))) - before
        helper.cleanup(sorted(created))
