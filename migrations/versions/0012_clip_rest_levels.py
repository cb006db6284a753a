"""clip rest levels (issue 8): the rest level each expression of a clip was read against, one
number per row (clip_rest_level), erased with the clip and pooled over the panelist's clips of a
session; the shared provenance keeps only what is the same for every clip analysed alike. The per-person levels earlier analyses wrote into the shared provenance
(which an erasure did not remove) are stripped from it here.

Revision ID: 0012_clip_rest_levels
Revises: 0011_recovery
Create Date: 2026-12-01 10:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0012_clip_rest_levels'
down_revision: Union[str, Sequence[str], None] = '0011_recovery'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


PERSONAL = ('baselines', 'rest_levels', 'rest_levels_given')


def upgrade() -> None:
    op.create_table(
        'clip_rest_level',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clip_id', sa.Integer(), nullable=False),
        sa.Column('metric', sa.String(length=40), nullable=False),
        sa.Column('level', sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(['clip_id'], ['clip.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('clip_id', 'metric'),
    )
    op.create_index(op.f('ix_clip_rest_level_clip_id'), 'clip_rest_level', ['clip_id'], unique=False)
    bind = op.get_bind()
    table = sa.table('analysis_provenance', sa.column('id', sa.Integer), sa.column('provenance', sa.JSON))
    for row_id, provenance in bind.execute(sa.select(table.c.id, table.c.provenance)).all():
        if isinstance(provenance, dict) and any(key in provenance for key in PERSONAL):
            kept = {k: v for k, v in provenance.items() if k not in PERSONAL}
            bind.execute(table.update().where(table.c.id == row_id).values(provenance=kept))


def downgrade() -> None:
    op.drop_index(op.f('ix_clip_rest_level_clip_id'), table_name='clip_rest_level')
    op.drop_table('clip_rest_level')
