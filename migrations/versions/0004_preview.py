"""preview: a designer's preview sessions are flagged and left out of every result

Revision ID: 0004_preview
Revises: 0003_partial
Create Date: 2026-11-29 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004_preview'
down_revision: Union[str, Sequence[str], None] = '0003_partial'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('panel_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_preview', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('panel_session', schema=None) as batch_op:
        batch_op.drop_column('is_preview')
