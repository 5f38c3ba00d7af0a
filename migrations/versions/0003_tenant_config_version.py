"""Tenant configuration version: what workers poll to rebuild their tenant snapshots.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("config_version", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("config_changed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_tenants_config_changed_at"), ["config_changed_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenants_config_changed_at"))
        batch_op.drop_column("config_changed_at")
        batch_op.drop_column("config_version")
