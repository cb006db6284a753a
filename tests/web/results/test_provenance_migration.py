"""Migration 0012: per-person levels leave the shared provenance (an erasure never removed them)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from candor.migrations import alembic_config


def test_the_upgrade_strips_a_panelist_s_levels_from_the_shared_provenance(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'candor.db'}"
    command.upgrade(alembic_config(url), "0011_recovery")
    engine = sa.create_engine(url)
    table = sa.table(
        "analysis_provenance",
        sa.column("id", sa.Integer),
        sa.column("digest", sa.String),
        sa.column("provenance", sa.JSON),
    )
    written = {
        "analysis_version": "2.0.0",
        "settings": {"fps": 15.0},
        "baselines": {"smile": 0.12, "ear_right": 0.31},
    }
    with engine.begin() as connection:
        connection.execute(table.insert().values(id=1, digest="a" * 64, provenance=written))
        connection.execute(
            table.insert().values(id=2, digest="b" * 64, provenance={"settings": {"fps": 15.0}})
        )
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as connection:
        rows = dict(connection.execute(sa.select(table.c.id, table.c.provenance)).all())
        tables = set(sa.inspect(connection).get_table_names())
    engine.dispose()
    assert rows[1] == {"analysis_version": "2.0.0", "settings": {"fps": 15.0}}
    assert rows[2] == {"settings": {"fps": 15.0}}
    assert "clip_rest_level" in tables
