"""ad.aggregate_version: a token that changes (a fresh random value) each time a clip is added
to or removed from the ad's aggregates, so per-ad figures computed from them (the organisation
norm's summaries) can be cached and recomputed only for the ads whose aggregates changed.
0 means never changed by the pipeline.

Revision ID: 0015_ad_aggregate_version
Revises: 0014_signed_respondents
Create Date: 2026-12-07 18:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0015_ad_aggregate_version'
down_revision: Union[str, Sequence[str], None] = '0014_signed_respondents'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('ad', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('aggregate_version', sa.BigInteger(), server_default=sa.text('0'),
                      nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('ad', schema=None) as batch_op:
        batch_op.drop_column('aggregate_version')
