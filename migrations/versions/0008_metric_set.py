"""metric set: the 20 expressions per second, emotion curves in their own table, provenance

Revision ID: 0008_metric_set
Revises: 0007_login_sessions
Create Date: 2026-12-01 06:00:00

Column names are written out here, not read from candor/metrics.py: a migration is a snapshot
of the schema at its revision and must not change when the list grows.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008_metric_set'
down_revision: Union[str, Sequence[str], None] = '0007_login_sessions'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The 16 expressions clip_second did not have (smile, brow_raise, brow_furrow, jaw_drop stay).
NEW_EXPRESSIONS = (
    'inner_brow_raise', 'eye_widen', 'cheek_raise', 'lid_tighten', 'nose_wrinkle',
    'upper_lip_raise', 'dimpler', 'lip_corner_depressor', 'chin_raise', 'lip_pucker',
    'lip_stretch', 'lip_press', 'lip_suck', 'mouth_open', 'smirk', 'eye_closure',
)
EMOTION_METRICS = (
    'joy', 'surprise', 'anger', 'sadness', 'disgust', 'fear', 'contempt', 'valence', 'engagement',
)


def upgrade() -> None:
    with op.batch_alter_table('clip_second', schema=None) as batch_op:
        for name in NEW_EXPRESSIONS:
            batch_op.add_column(sa.Column(name, sa.Double(), nullable=True))
    op.create_table(
        'analysis_provenance',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('provenance', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_provenance')),
        sa.UniqueConstraint('digest', name=op.f('uq_analysis_provenance_digest')),
    )
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provenance_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_clip_provenance_id'), ['provenance_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_clip_provenance_id_analysis_provenance'), 'analysis_provenance',
            ['provenance_id'], ['id'], ondelete='SET NULL',
        )
    op.create_table(
        'clip_emotion_second',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clip_id', sa.Integer(), nullable=False),
        sa.Column('ad_id', sa.Integer(), nullable=False),
        sa.Column('second', sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Double(), nullable=True) for name in EMOTION_METRICS),
        sa.ForeignKeyConstraint(['ad_id'], ['ad.id'], name=op.f('fk_clip_emotion_second_ad_id_ad'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['clip_id'], ['clip.id'], name=op.f('fk_clip_emotion_second_clip_id_clip'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_clip_emotion_second')),
        sa.UniqueConstraint('clip_id', 'second', name=op.f('uq_clip_emotion_second_clip_id_second')),
    )
    with op.batch_alter_table('clip_emotion_second', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clip_emotion_second_ad_id'), ['ad_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clip_emotion_second_clip_id'), ['clip_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('clip_emotion_second', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clip_emotion_second_clip_id'))
        batch_op.drop_index(batch_op.f('ix_clip_emotion_second_ad_id'))
    op.drop_table('clip_emotion_second')
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_clip_provenance_id_analysis_provenance'), type_='foreignkey'
        )
        batch_op.drop_index(batch_op.f('ix_clip_provenance_id'))
        batch_op.drop_column('provenance_id')
    op.drop_table('analysis_provenance')
    with op.batch_alter_table('clip_second', schema=None) as batch_op:
        for name in reversed(NEW_EXPRESSIONS):
            batch_op.drop_column(name)
