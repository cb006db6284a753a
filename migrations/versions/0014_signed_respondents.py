"""signed respondents: per-integration signing secrets (current and previous, wrapped), an
integration's choice to require signatures, and whether a session was started signed.

The one-live-session index now covers signed sessions only: an unsigned start proves nothing
about its respondent, so it never displaces another session and several may be live at once.
Every session from before is unsigned.

Videos' fingerprints are kept keyed from now on (web/clips/deletion.py keyed_fingerprint); the
plain sha256 that deletion audit rows and analysed clips held until now is forgotten (a plain hash
is a lasting fingerprint that confirms a given file was uploaded): audit rows keep '' there,
clips NULL. The migration cannot key them: it does not hold the server secret.

Revision ID: 0014_signed_respondents
Revises: 0013_sessions_live_respondent
Create Date: 2026-12-07 15:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0014_signed_respondents'
down_revision: Union[str, Sequence[str], None] = '0013_sessions_live_respondent'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEX = 'uq_panel_session_live_respondent'
OLD_LIVE = "status IN ('STARTED', 'CONSENTED')"
NEW_LIVE = "status IN ('STARTED', 'CONSENTED') AND signed"


def upgrade() -> None:
    # Plain ADD COLUMN (no batch): SQLite would otherwise rebuild `integration`, and dropping the
    # old table cascades to every session that refers to it.
    op.add_column('integration', sa.Column('signing_secret', sa.String(length=200), nullable=True))
    op.add_column(
        'integration', sa.Column('previous_signing_secret', sa.String(length=200), nullable=True)
    )
    op.add_column(
        'integration',
        sa.Column('require_signature', sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        'panel_session',
        sa.Column('signed', sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.drop_index(
        INDEX, 'panel_session', postgresql_where=sa.text(OLD_LIVE), sqlite_where=sa.text(OLD_LIVE)
    )
    op.create_index(
        INDEX,
        'panel_session',
        ['integration_id', 'respondent_hash', 'is_preview'],
        unique=True,
        postgresql_where=sa.text(NEW_LIVE),
        sqlite_where=sa.text(NEW_LIVE),
    )
    op.execute("UPDATE deletion_audit SET sha256 = ''")
    op.execute("UPDATE clip SET sha256 = NULL")


def downgrade() -> None:
    # Unsigned live duplicates would break the old index: end all but the newest, as 0013 did.
    op.execute(
        f"UPDATE panel_session SET status = 'ABANDONED' WHERE {OLD_LIVE} AND EXISTS "
        "(SELECT 1 FROM panel_session AS newer "
        "WHERE newer.integration_id = panel_session.integration_id "
        "AND newer.respondent_hash = panel_session.respondent_hash "
        "AND newer.is_preview = panel_session.is_preview "
        "AND newer.status IN ('STARTED', 'CONSENTED') AND newer.id > panel_session.id)"
    )
    with op.batch_alter_table('panel_session', schema=None) as batch_op:
        batch_op.drop_index(INDEX, postgresql_where=sa.text(NEW_LIVE), sqlite_where=sa.text(NEW_LIVE))
        batch_op.create_index(
            INDEX,
            ['integration_id', 'respondent_hash', 'is_preview'],
            unique=True,
            postgresql_where=sa.text(OLD_LIVE),
            sqlite_where=sa.text(OLD_LIVE),
        )
        batch_op.drop_column('signed')
    with op.batch_alter_table('integration', schema=None) as batch_op:
        batch_op.drop_column('require_signature')
        batch_op.drop_column('previous_signing_secret')
        batch_op.drop_column('signing_secret')
