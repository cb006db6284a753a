"""report links: revocable, expiring links to a study's report for people without an account

Revision ID: 0010_report_links
Revises: 0009_emotion_consent
Create Date: 2026-12-01 06:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0010_report_links'
down_revision: Union[str, Sequence[str], None] = '0009_emotion_consent'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('report_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_report_link_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_report_link_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_report_link_token_hash'))
    )
    with op.batch_alter_table('report_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_link_study_id'), ['study_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('report_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_link_study_id'))
    op.drop_table('report_link')
