"""The results queries also run on the embedded default, SQLite (built by the migrations)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.orm import Session

from candor.migrations import alembic_config
from tests.support.factories import make_ad, make_study
from tests.web.results.seed import add_panelist, flat
from web.clips.provenance import provenance_id
from web.db import make_engine
from web.results import compare, export, quality, service
from web.settings import Settings


@pytest.fixture
def sqlite_session(tmp_path: Path) -> Iterator[Session]:
    url = f"sqlite:///{tmp_path / 'candor.db'}"
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_results_on_sqlite(sqlite_session: Session, tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path, database_url="sqlite://")
    study = make_study(sqlite_session)
    ad = make_ad(sqlite_session, study, duration_s=3)
    other = make_ad(sqlite_session, study, duration_s=6)
    for i in range(12):
        add_panelist(
            sqlite_session, ad, {"attention": flat(0.5 + i / 100, 3), "smile": [0.1, 0.6, 0.1]},
            {"age": "young" if i < 10 else "old"},
        )  # fmt: skip
        add_panelist(sqlite_session, other, {"attention": flat(0.4, 6)})
    add_panelist(
        sqlite_session, ad, {"attention": flat(0.0, 3)}, usable=False, exclusion_reason="too_dark"
    )

    curves = service.ad_curves(sqlite_session, ad, study, settings, "age")
    assert curves.overall.n == 12
    assert curves.segments == []  # 10 young would give away the 2 old by subtraction
    assert curves.hidden_segments == 2
    assert service.moments_for(curves).moments[0].second == 1
    assert compare.compare(sqlite_session, [ad, other], study.organisation_id, 2).axis == "percent"
    assert compare.norms(sqlite_session, study.organisation_id, 2).n_ads == 2
    q = quality.quality(sqlite_session, study.id)
    assert (q.usable_clips, q.exclusions["too_dark"]) == (24, 1)
    assert quality.progress_by_ad(sqlite_session, [ad.id])[ad.id].done == 13
    lines = "".join(
        export.panelist_csv(sqlite_session, settings, ad.id, study.id, 10, emotions=False)
    )
    assert len(lines.strip().splitlines()) == 1 + 12 * 3
    # Emotion columns come from their own rows by an outer join: none stored, all empty.
    lines = "".join(
        export.panelist_csv(sqlite_session, settings, ad.id, study.id, 10, emotions=True)
    )
    header, first = lines.splitlines()[:2]
    assert header.endswith("engagement (inferred)")
    assert first.endswith(",,,,,,,,")  # the 9 emotion metrics, empty
    first_id = provenance_id(sqlite_session, {"models": {"x": "1"}})
    assert first_id is not None
    assert provenance_id(sqlite_session, {"models": {"x": "1"}}) == first_id
    assert provenance_id(sqlite_session, {}) is None
