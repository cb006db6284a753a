"""clip ids are never reused: AUTOINCREMENT on SQLite, so an erased clip's id (kept in its
deletion audit rows) never names another clip. PostgreSQL's identity never reused them.

Revision ID: 0005_clip_ids
Revises: 0004_preview
Create Date: 2026-12-01 06:30:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = '0005_clip_ids'
down_revision: Union[str, Sequence[str], None] = '0004_preview'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _rebuild(autoincrement: bool) -> None:
    # SQLite can only change this by copying the table; batch mode does that, keys and all.
    if op.get_bind().dialect.name != 'sqlite':
        return
    with op.batch_alter_table(
        'clip', recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}
    ):
        pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
