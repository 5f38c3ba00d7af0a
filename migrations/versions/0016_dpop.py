"""DPoP (RFC 9449, #19): the clients' ``dpop_bound_access_tokens`` flag, the DPoP key a
public client's refresh token is bound to, and the one an authorization code is bound to
(``dpop_jkt``, §10).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch rebuild): rebuilding ``clients`` or ``refresh_tokens`` on
    # SQLite with foreign keys on would cascade into the rows that reference them.
    op.add_column(
        "clients",
        sa.Column(
            "dpop_bound_access_tokens", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    op.add_column("refresh_tokens", sa.Column("dpop_jkt", sa.String(64), nullable=True))
    op.add_column("authorization_codes", sa.Column("dpop_jkt", sa.String(64), nullable=True))


def downgrade():
    op.drop_column("authorization_codes", "dpop_jkt")
    op.drop_column("refresh_tokens", "dpop_jkt")
    op.drop_column("clients", "dpop_bound_access_tokens")
