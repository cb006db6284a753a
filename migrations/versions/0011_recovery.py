"""recovery (issue 11): clip ids are never reused (AUTOINCREMENT on SQLite, so an erased clip's
id, kept in its deletion audit rows, never names another clip; PostgreSQL never reused them),
and a clip's second can be kept as a mark only (clip_second.flag: hidden, sparse).

Revision ID: 0011_recovery
Revises: 0010_report_links
Create Date: 2026-12-01 06:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0011_recovery'
down_revision: Union[str, Sequence[str], None] = '0010_report_links'
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
    with op.batch_alter_table('clip_second', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flag', sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('clip_second', schema=None) as batch_op:
        batch_op.drop_column('flag')
    _rebuild(False)
