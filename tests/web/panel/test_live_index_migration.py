"""Migration 0013 on both databases Candor runs on: live duplicates made before it are ended
(the newest stays live), sessions superseded before it are marked from their audit rows, and
from then on the database refuses a second live session of one respondent."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import IntegrityError

from candor.migrations import alembic_config
from tests.conftest import TEST_DATABASE_URL

BEFORE = "0012_clip_rest_levels"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """An empty database of each kind (PostgreSQL: a schema of its own, dropped afterwards)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'candor.db'}"
        engine = create_engine(url)
        yield url, engine
        engine.dispose()
        return
    schema = f"mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(TEST_DATABASE_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    joiner = "&" if "?" in TEST_DATABASE_URL else "?"
    url = f"{TEST_DATABASE_URL}{joiner}options=-csearch_path%3D{schema}"
    engine = create_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _parents(connection: Connection) -> None:
    """An organisation, a study and an integration (id 1 each) for the sessions to belong to."""
    connection.execute(
        text(
            "INSERT INTO organisation (id, name, created_at) VALUES (1, 'Acme', CURRENT_TIMESTAMP)"
        )
    )
    connection.execute(
        text(
            "INSERT INTO study (id, organisation_id, name, ad_order,"
            " attested_not_employees_or_students, emotion_mode, min_cell_size, created_at)"
            " VALUES (1, 1, 'Study', 'FIXED', true, false, 10, CURRENT_TIMESTAMP)"
        )
    )
    connection.execute(
        text(
            "INSERT INTO integration (id, study_id, name, kind, public_key, return_url_template,"
            " passthrough_vars, default_locale, created_at)"
            " VALUES (1, 1, 'Link', 'GENERIC', 'pk', '', '[]', 'en', CURRENT_TIMESTAMP)"
        )
    )


def _session_row(connection: Connection, row_id: int, respondent: str, status: str) -> None:
    connection.execute(
        text(
            "INSERT INTO panel_session (id, public_id, integration_id, study_id, respondent_hash,"
            " passthrough, locale, status, ad_order, is_preview, emotion_mode, is_sample,"
            " erased_by_receipt, created_at) VALUES (:id, :public_id, 1, 1, :respondent, '{}',"
            " 'en', :status, '[]', false, false, false, false, CURRENT_TIMESTAMP)"
        ),
        {
            "id": row_id,
            "public_id": str(uuid.UUID(int=row_id)),
            "respondent": respondent,
            "status": status,
        },
    )


def test_upgrade_ends_live_duplicates_marks_superseded_and_then_refuses_a_second_live_session(
    database: tuple[str, Engine],
) -> None:
    url, engine = database
    command.upgrade(alembic_config(url), BEFORE)
    with engine.begin() as connection:
        _parents(connection)
        _session_row(connection, 1, "h-dup", "STARTED")
        _session_row(connection, 2, "h-dup", "CONSENTED")  # the newer duplicate stays live
        _session_row(connection, 3, "h-other", "CONSENTED")
        _session_row(connection, 4, "", "WITHDRAWN")  # superseded before the upgrade
        connection.execute(
            text(
                "INSERT INTO deletion_audit (clip_id, session_id, ad_id, key_destroyed, sha256,"
                " bytes, reason, deleted_at) VALUES (9, 4, 1, true, :sha, 3, 'superseded',"
                " CURRENT_TIMESTAMP)"
            ),
            {"sha": "0" * 64},
        )

    command.upgrade(alembic_config(url), "0013_sessions_live_respondent")

    with engine.begin() as connection:
        rows = connection.execute(
            text(
                "SELECT id, status, ended_at IS NOT NULL, superseded FROM panel_session ORDER BY id"
            )
        ).all()
        assert [tuple(r) for r in rows] == [
            (1, "ABANDONED", True, False),
            (2, "CONSENTED", False, False),
            (3, "CONSENTED", False, False),
            (4, "WITHDRAWN", False, True),
        ]
    with pytest.raises(IntegrityError), engine.begin() as connection:
        _session_row(connection, 5, "h-dup", "STARTED")
    with engine.begin() as connection:  # ended sessions of the respondent are not live
        _session_row(connection, 6, "h-dup", "COMPLETE")
        _session_row(connection, 7, "h-dup", "DECLINED")

    command.downgrade(alembic_config(url), BEFORE)
    with engine.begin() as connection:
        _session_row(connection, 8, "h-dup", "STARTED")  # no index any more
