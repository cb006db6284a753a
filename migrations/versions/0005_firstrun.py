"""firstrun: the demo's sample panelists are flagged; fieldwork target and integration status; recorder strings per locale; erasures by receipt told apart

Revision ID: 0005_firstrun
Revises: 0004_preview
Create Date: 2026-12-01 06:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005_firstrun'
down_revision: Union[str, Sequence[str], None] = '0004_preview'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('panel_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_sample', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('erased_by_receipt', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_usable', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('close_at_target', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('integration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recorder_strings', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('status', sa.Enum('OPEN', 'PAUSED', 'CLOSED', name='integrationstatus', native_enum=False, length=20), server_default='OPEN', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('integration', schema=None) as batch_op:
        batch_op.drop_column('status')
        batch_op.drop_column('recorder_strings')
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('close_at_target')
        batch_op.drop_column('target_usable')
    with op.batch_alter_table('panel_session', schema=None) as batch_op:
        batch_op.drop_column('erased_by_receipt')
        batch_op.drop_column('is_sample')
