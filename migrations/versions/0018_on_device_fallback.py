"""on-device fallback: what an on-device study offers a browser that cannot read the face (a
polite exit, or server mode with its own consent text), and which consent texts are that
server-mode fallback text (issue 22).

Revision ID: 0018_on_device_fallback
Revises: 0017_api_tokens
Create Date: 2026-12-07 21:00:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0018_on_device_fallback"
down_revision: Union[str, Sequence[str], None] = "0017_api_tokens"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch): SQLite would otherwise rebuild the tables (see 0014).
    op.add_column(
        "study",
        sa.Column(
            "on_device_fallback",
            sa.Enum("EXIT", "SERVER", name="fallback", native_enum=False, length=10),
            server_default="EXIT",
            nullable=False,
        ),
    )
    op.add_column(
        "consent_text",
        sa.Column("fallback", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("consent_text", schema=None) as batch_op:
        batch_op.drop_column("fallback")
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.drop_column("on_device_fallback")
