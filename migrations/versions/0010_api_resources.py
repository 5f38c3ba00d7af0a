"""API resources and permissions (issue #17): resources, role permissions, client resource
grants; the resources named by authorization codes and grants (RFC 8707); the API
permissions a remembered consent covers.

users.metadata already exists (0005).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
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


def _fk(table: str, column: str, target: str):
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade():
    _tenant_owned(
        "resources",
        sa.Column("identifier", sa.String(length=500), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("access_token_ttl_seconds", sa.Integer(), nullable=True),
        constraints=(
            sa.UniqueConstraint(
                "tenant_id", "identifier", name=op.f("uq_resources_tenant_id_identifier")
            ),
        ),
    )
    _tenant_owned(
        "role_permissions",
        sa.Column("role_id", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=40), nullable=False),
        sa.Column("permission", sa.String(length=200), nullable=False),
        constraints=(
            _fk("role_permissions", "role_id", "roles"),
            _fk("role_permissions", "resource_id", "resources"),
            sa.UniqueConstraint(
                "role_id",
                "resource_id",
                "permission",
                name=op.f("uq_role_permissions_role_id_resource_id_permission"),
            ),
        ),
    )
    _tenant_owned(
        "client_resource_grants",
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=40), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        constraints=(
            _fk("client_resource_grants", "client_id", "clients"),
            _fk("client_resource_grants", "resource_id", "resources"),
            sa.UniqueConstraint(
                "client_id",
                "resource_id",
                name=op.f("uq_client_resource_grants_client_id_resource_id"),
            ),
        ),
    )
    for table, columns in (
        ("role_permissions", ("role_id", "resource_id")),
        ("client_resource_grants", ("client_id", "resource_id")),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)

    # Existing rows get empty lists / objects; the models supply the defaults afterwards.
    for table, column, empty in (
        ("authorization_codes", "resources", "'[]'"),
        ("grants", "resources", "'[]'"),
        ("consents", "permissions", "'{}'"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(column, sa.JSON(), nullable=False, server_default=sa.text(empty))
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, server_default=None)


def downgrade():
    for table, column in (
        ("consents", "permissions"),
        ("grants", "resources"),
        ("authorization_codes", "resources"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
    for table, columns in (
        ("client_resource_grants", ("client_id", "resource_id", "tenant_id")),
        ("role_permissions", ("role_id", "resource_id", "tenant_id")),
        ("resources", ("tenant_id",)),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
