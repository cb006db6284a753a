"""sessions: at most one live (started or consented) session per respondent of an integration,
a resume token only the panelist's browser holds (kept here as a keyed hash), superseded
sessions marked apart from withdrawals, and the recorder's "left the page" beacon.

Live duplicates from before (two starts at once could both win) are ended as "abandoned", the
older first, so the unique index can be built; their clips go the way of an abandoned session's.
Sessions superseded before this revision are found by their deletion audit rows.

Revision ID: 0013_sessions_live_respondent
Revises: 0012_clip_rest_levels
Create Date: 2026-12-02 09:00:00

"""
from datetime import UTC, datetime
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0013_sessions_live_respondent'
down_revision: Union[str, Sequence[str], None] = '0012_clip_rest_levels'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

LIVE = "status IN ('STARTED', 'CONSENTED')"


def upgrade() -> None:
    with op.batch_alter_table('panel_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resume_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column('superseded', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column('left_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column('presence_seq', sa.BigInteger(), server_default=sa.text('0'), nullable=False)
        )
    op.execute(
        "UPDATE panel_session SET superseded = true WHERE id IN "
        "(SELECT session_id FROM deletion_audit WHERE reason = 'superseded')"
    )
    now = sa.bindparam('now', datetime.now(UTC), type_=sa.DateTime(timezone=True))
    op.get_bind().execute(
        sa.text(
            "UPDATE panel_session SET status = 'ABANDONED', ended_at = COALESCE(ended_at, :now) "
            f"WHERE {LIVE} AND EXISTS (SELECT 1 FROM panel_session AS newer "
            "WHERE newer.integration_id = panel_session.integration_id "
            "AND newer.respondent_hash = panel_session.respondent_hash "
            "AND newer.is_preview = panel_session.is_preview "
            "AND newer.status IN ('STARTED', 'CONSENTED') AND newer.id > panel_session.id)"
        ).bindparams(now)
    )
    with op.batch_alter_table('panel_session', schema=None) as batch_op:
        batch_op.create_index(
            'uq_panel_session_live_respondent',
            ['integration_id', 'respondent_hash', 'is_preview'],
            unique=True,
            postgresql_where=sa.text(LIVE),
            sqlite_where=sa.text(LIVE),
        )


def downgrade() -> None:
    with op.batch_alter_table('panel_session', schema=None) as batch_op:
        batch_op.drop_index(
            'uq_panel_session_live_respondent',
            postgresql_where=sa.text(LIVE),
            sqlite_where=sa.text(LIVE),
        )
        batch_op.drop_column('presence_seq')
        batch_op.drop_column('left_at')
        batch_op.drop_column('superseded')
        batch_op.drop_column('resume_hash')
