"""Hosted pages for every customer (#20): custom domains are verified by a DNS TXT record
before they route (existing rows, which routed already, are kept verified); one-time
sign-in codes and magic links; per-tenant email templates; mail gets an HTML alternative and a Reply-To.

Revision ID: 0009
Revises: 0006
"""

import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("custom_domains", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verification_token", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verified_by", sa.String(length=16), nullable=True))
    domains = sa.table(
        "custom_domains",
        sa.column("id", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("verification_token", sa.String),
        sa.column("verified_at", sa.DateTime(timezone=True)),
        sa.column("verified_by", sa.String),
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(domains.c.id, domains.c.created_at)).all():
        # Rows from before verification existed already routed: keep them serving.
        connection.execute(
            domains.update()
            .where(domains.c.id == row.id)
            .values(
                verification_token=secrets.token_urlsafe(24),
                verified_at=row.created_at,
                verified_by="migration",
            )
        )
    with op.batch_alter_table("custom_domains", schema=None) as batch_op:
        batch_op.alter_column("verification_token", existing_type=sa.String(length=100), nullable=False)

    op.create_table(
        "login_codes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=True),
        sa.Column("secret_digest", sa.String(length=64), nullable=False),
        sa.Column("browser_digest", sa.String(length=64), nullable=False),
        sa.Column("next_url", sa.String(length=4000), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_login_codes_tenant_id_tenants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_login_codes_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_codes")),
    )
    with op.batch_alter_table("login_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_codes_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_codes_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_codes_secret_digest"), ["secret_digest"], unique=False)

    op.create_table(
        "email_templates",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_email_templates_tenant_id_tenants"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_templates")),
        sa.UniqueConstraint("tenant_id", "name", "locale", name=op.f("uq_email_templates_tenant_id_name_locale")),
    )
    with op.batch_alter_table("email_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_templates_tenant_id"), ["tenant_id"], unique=False)

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_html", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reply_to", sa.String(length=320), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("reply_to")
        batch_op.drop_column("body_html")
    with op.batch_alter_table("email_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_templates_tenant_id"))
    op.drop_table("email_templates")
    with op.batch_alter_table("login_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_codes_secret_digest"))
        batch_op.drop_index(batch_op.f("ix_login_codes_user_id"))
        batch_op.drop_index(batch_op.f("ix_login_codes_tenant_id"))
    op.drop_table("login_codes")
    with op.batch_alter_table("custom_domains", schema=None) as batch_op:
        batch_op.drop_column("verified_by")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("verification_token")
