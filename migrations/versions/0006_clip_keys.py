"""clip keys: each clip's wrapped data key; the audit says whose clip and that its key was destroyed

Revision ID: 0006_clip_keys
Revises: 0005_firstrun
Create Date: 2026-12-01 06:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0006_clip_keys'
down_revision: Union[str, Sequence[str], None] = '0005_firstrun'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_key', sa.String(length=80), nullable=True))
    with op.batch_alter_table('deletion_audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ad_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('key_destroyed', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f('ix_deletion_audit_session_id'), ['session_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deletion_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deletion_audit_session_id'))
        batch_op.drop_column('key_destroyed')
        batch_op.drop_column('ad_id')
        batch_op.drop_column('session_id')
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.drop_column('data_key')
