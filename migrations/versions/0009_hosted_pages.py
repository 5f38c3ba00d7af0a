"""Hosted pages for every customer (#20): custom domains are verified by a DNS TXT record
before they route (existing rows, which routed already, are kept verified); one-time
sign-in codes and magic links.

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


def downgrade():
    with op.batch_alter_table("custom_domains", schema=None) as batch_op:
        batch_op.drop_column("verified_by")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("verification_token")
