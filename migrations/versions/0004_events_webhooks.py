"""Events outbox, webhook endpoints and deliveries; mail queued for the worker.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("dispatched_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events") as batch_op:
        batch_op.create_index("ix_events_tenant_id_id", ["tenant_id", "id"], unique=False)
        batch_op.create_index("ix_events_undispatched", ["dispatched_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("previous_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("previous_secret_expires_at", TS, nullable=True),
        sa.Column("failing_since", TS, nullable=True),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_webhook_endpoints_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    with op.batch_alter_table("webhook_endpoints") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_endpoints_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("endpoint_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
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
        sa.Column("created_at", TS, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_webhook_deliveries_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_webhook_deliveries_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries") as batch_op:
        batch_op.create_index("ix_webhook_deliveries_due", ["status", "next_attempt_at"])
        batch_op.create_index("ix_webhook_deliveries_endpoint", ["endpoint_id", "id"])
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_event_id"), ["event_id"])
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_tenant_id"), ["tenant_id"])

    op.create_table(
        "outbox_jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_jobs")),
    )
    with op.batch_alter_table("outbox_jobs") as batch_op:
        batch_op.create_index("ix_outbox_jobs_due", ["status", "next_attempt_at"])
        batch_op.create_index(batch_op.f("ix_outbox_jobs_tenant_id"), ["tenant_id"])

    # Mail becomes a queue. Rows already there were the development outbox: logged.
    with op.batch_alter_table("outbox_messages") as batch_op:
        batch_op.add_column(sa.Column("sender", sa.String(length=400), nullable=True))
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="logged")
        )
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("next_attempt_at", TS, nullable=True))
        batch_op.add_column(sa.Column("locked_until", TS, nullable=True))
        batch_op.add_column(sa.Column("sent_at", TS, nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
    with op.batch_alter_table("outbox_messages") as batch_op:
        batch_op.alter_column("status", server_default=None)
        batch_op.alter_column("attempts", server_default=None)
        batch_op.create_index("ix_outbox_messages_due", ["status", "next_attempt_at"])


def downgrade():
    with op.batch_alter_table("outbox_messages") as batch_op:
        batch_op.drop_index("ix_outbox_messages_due")
        for name in ("last_error", "sent_at", "locked_until", "next_attempt_at", "attempts",
                     "status", "sender"):
            batch_op.drop_column(name)
    op.drop_table("outbox_jobs")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("events")
