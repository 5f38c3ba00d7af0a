"""Dynamic client registration (RFC 7591/7592, #19): initial access tokens minted by
tenant admins, and the registration of each dynamically registered client (the digest of
its registration access token, the metadata without a column on ``clients``).

The tenant setting ``dynamic_registration`` needs no migration (settings are JSON with
defaults filled in on read: a tenant without it reads ``off``).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _tenant_owned(name: str, *columns, constraints=()):
    op.create_table(
        name,
        sa.Column("id", sa.String(length=40), nullable=False),
        *columns,
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{name}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        *constraints,
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_tenant_id"), ["tenant_id"], unique=False)


def upgrade():
    _tenant_owned(
        "initial_access_tokens",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        constraints=(
            sa.UniqueConstraint(
                "token_digest", name=op.f("uq_initial_access_tokens_token_digest")
            ),
        ),
    )
    _tenant_owned(
        "client_registrations",
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("token_rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("client_metadata", sa.JSON(), nullable=False),
        sa.Column("initial_token_id", sa.String(length=40), nullable=True),
        constraints=(
            sa.ForeignKeyConstraint(
                ["client_id"], ["clients.id"],
                name=op.f("fk_client_registrations_client_id_clients"), ondelete="CASCADE",
            ),
            sa.UniqueConstraint("client_id", name=op.f("uq_client_registrations_client_id")),
            sa.UniqueConstraint(
                "token_digest", name=op.f("uq_client_registrations_token_digest")
            ),
        ),
    )


def downgrade():
    op.drop_table("client_registrations")
    op.drop_table("initial_access_tokens")
