"""private_key_jwt and signed request objects (#19): a client's public keys, inline
(``jwks``, an RFC 7517 JWK Set) or by reference (``jwks_uri``).

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch rebuild): rebuilding ``clients`` on SQLite would cascade
    # into its grants and consents.
    op.add_column("clients", sa.Column("jwks", sa.JSON(), nullable=True))
    op.add_column("clients", sa.Column("jwks_uri", sa.String(2000), nullable=True))


def downgrade():
    # Plain DROP COLUMN (SQLite >= 3.35 has it) for the same reason as above.
    op.drop_column("clients", "jwks_uri")
    op.drop_column("clients", "jwks")
