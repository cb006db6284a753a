"""panel: clip enqueue/lease/aggregated bookkeeping; audit rows for stray files

Revision ID: 0002_panel
Revises: 0001
Create Date: 2026-11-21 06:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002_panel'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.add_column(sa.Column('aggregated', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('processing_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('processing_started_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('deletion_audit', schema=None) as batch_op:
        batch_op.alter_column('clip_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('deletion_audit', schema=None) as batch_op:
        batch_op.alter_column('clip_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.drop_column('processing_started_at')
        batch_op.drop_column('processing_token')
        batch_op.drop_column('enqueued_at')
        batch_op.drop_column('aggregated')
