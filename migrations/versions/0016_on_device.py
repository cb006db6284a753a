"""on-device mode: a study may have the panelist's browser read the face and send numbers only
(issue 22); a panel session keeps the study's choice as it was when the panelist agreed, and a
consent version says whether it is the text for that mode (the video never leaves the device).

Revision ID: 0016_on_device
Revises: 0015_ad_aggregate_version
Create Date: 2026-12-07 18:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0016_on_device'
down_revision: Union[str, Sequence[str], None] = '0015_ad_aggregate_version'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ('study', 'panel_session', 'consent_text')


def upgrade() -> None:
    # Plain ADD COLUMN (no batch): SQLite would otherwise rebuild the tables (see 0014).
    for table in TABLES:
        op.add_column(
            table, sa.Column('on_device', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('on_device')
