"""clip baselines (issue 8): a panelist's own reference levels from the analysis (neutral
baselines, each expression's rest level) are kept on the clip, erased with it, and pooled over
the panelist's clips of a session; the shared provenance keeps only what is the same for every
clip analysed alike. The per-person levels earlier analyses wrote into the shared provenance
(which an erasure did not remove) are stripped from it here.

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


PERSONAL = ('baselines', 'rest_levels', 'rest_levels_given')


def upgrade() -> None:
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.add_column(sa.Column('baselines', sa.JSON(), nullable=True))
    bind = op.get_bind()
    table = sa.table('analysis_provenance', sa.column('id', sa.Integer), sa.column('provenance', sa.JSON))
    for row_id, provenance in bind.execute(sa.select(table.c.id, table.c.provenance)).all():
        if isinstance(provenance, dict) and any(key in provenance for key in PERSONAL):
            kept = {k: v for k, v in provenance.items() if k not in PERSONAL}
            bind.execute(table.update().where(table.c.id == row_id).values(provenance=kept))


def downgrade() -> None:
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.drop_column('baselines')
