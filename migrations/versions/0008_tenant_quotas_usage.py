"""Tenant quotas and daily usage: ``tenants.quotas`` (JSON, NULL = unlimited) and the
``tenant_usage_daily`` aggregates (tenant, day, metric) the usage counters flush into.

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quotas", sa.JSON(), nullable=True))
    op.create_table(
        "tenant_usage_daily",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=80), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tenant_usage_daily_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "day", "metric", name=op.f("pk_tenant_usage_daily")),
    )
    with op.batch_alter_table("tenant_usage_daily", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenant_usage_daily_day"), ["day"], unique=False)


def downgrade():
    with op.batch_alter_table("tenant_usage_daily", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenant_usage_daily_day"))
    op.drop_table("tenant_usage_daily")
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): never recreate ``tenants`` on SQLite,
    # whose DROP TABLE would cascade to every tenant-owned row.
    with op.batch_alter_table("tenants", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("quotas")
