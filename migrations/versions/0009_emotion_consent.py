"""emotion consent: consent versions say whether they disclose emotion inference; a panel session
keeps the study's emotion mode as it was when the panelist agreed

Revision ID: 0009_emotion_consent
Revises: 0008_metric_set
Create Date: 2026-12-01 06:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009_emotion_consent'
down_revision: Union[str, Sequence[str], None] = '0008_metric_set'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('consent_text', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discloses_emotion', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('panel_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('emotion_mode', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('panel_session', schema=None) as batch_op:
        batch_op.drop_column('emotion_mode')
    with op.batch_alter_table('consent_text', schema=None) as batch_op:
        batch_op.drop_column('discloses_emotion')
