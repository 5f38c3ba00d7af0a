"""The ``acr`` of an authorization and the ``claims`` request parameter (#19, OIDC Core
§2, §5.5): kept with the authorization code and its grant.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch rebuild): rebuilding ``grants`` on SQLite with foreign
    # keys on would cascade into its refresh tokens.
    op.add_column("authorization_codes", sa.Column("claims_request", sa.JSON(), nullable=True))
    op.add_column("grants", sa.Column("acr", sa.String(100), nullable=True))
    op.add_column("grants", sa.Column("claims_request", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("grants", "claims_request")
    op.drop_column("grants", "acr")
    op.drop_column("authorization_codes", "claims_request")
