"""clip baselines (issue 8): a panelist's own reference levels from the analysis (neutral
baselines, each expression's rest level) are kept on the clip, erased with it, and pooled over
the panelist's clips of a session; the shared provenance keeps only what is the same for every
clip analysed alike.

Revision ID: 0012_clip_baselines
Revises: 0011_recovery
Create Date: 2026-12-01 10:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0012_clip_baselines'
down_revision: Union[str, Sequence[str], None] = '0011_recovery'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.add_column(sa.Column('baselines', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.drop_column('baselines')
