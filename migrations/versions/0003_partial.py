"""partial: clips finished by the server from what arrived after the upload went idle

Revision ID: 0003_partial
Revises: 0002_panel
Create Date: 2026-11-22 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003_partial'
down_revision: Union[str, Sequence[str], None] = '0002_panel'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_finished', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.drop_column('auto_finished')
