"""OIDC Back-Channel Logout 1.0 (#19): the clients' back-channel logout URI and the
outbox of logout tokens the worker delivers.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    # Plain ADD COLUMN (no batch rebuild): rebuilding ``clients`` on SQLite with foreign
    # keys on would cascade into its grants and consents.
    op.add_column("clients", sa.Column("backchannel_logout_uri", sa.String(2000), nullable=True))
    op.add_column(
        "clients",
        sa.Column(
            "backchannel_logout_session_required",
            sa.Boolean(),
            nullable=False,
            server_default=sa.false(),
        ),
    )
    op.create_table(
        "backchannel_logout_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("last_attempt_at", TS, nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.String(length=1024), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"],
            name=op.f("fk_backchannel_logout_deliveries_client_id_clients"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"],
            name=op.f("fk_backchannel_logout_deliveries_tenant_id_tenants"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backchannel_logout_deliveries")),
    )
    with op.batch_alter_table("backchannel_logout_deliveries") as batch_op:
        batch_op.create_index(
            "ix_backchannel_logout_deliveries_due", ["status", "next_attempt_at"]
        )
        batch_op.create_index("ix_backchannel_logout_deliveries_client", ["client_id", "id"])
        batch_op.create_index(
            batch_op.f("ix_backchannel_logout_deliveries_tenant_id"), ["tenant_id"]
        )


def downgrade():
    op.drop_table("backchannel_logout_deliveries")
    # Plain DROP COLUMN (SQLite >= 3.35 has it) for the same reason as above.
    op.drop_column("clients", "backchannel_logout_session_required")
    op.drop_column("clients", "backchannel_logout_uri")
