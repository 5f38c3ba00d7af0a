"""Scale-out (issue #16): server-side sign-in state (``flow_states``: the pending second
factor and the passkey challenge), and on PostgreSQL row-level security as a second wall
behind the tenant filter: the role ``gatehouse_app`` that the application connects as
(through a login role that is a member of it), its grants, and the policy
``tenant_isolation`` on every table with a ``tenant_id`` column.

A row is visible and writable when its ``tenant_id`` equals the setting
``gatehouse.tenant_id`` or when ``gatehouse.bypass`` is ``on`` (app/rls.py sets both).
``custom_domains`` and ``admin_api_keys`` are also readable without a tenant (a request's
tenant is resolved from its host, and an admin key authenticated, before any tenant is
known); their writes are scoped like every other table's. The owner (who runs the
migrations) is not subject to the policies; the tables are not FORCE'd.

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APP_ROLE = "gatehouse_app"
DIRECTORY_TABLES = ("custom_domains", "admin_api_keys")
VISIBLE = (
    "tenant_id = current_setting('gatehouse.tenant_id', true) "
    "OR current_setting('gatehouse.bypass', true) = 'on'"
)


def _tenant_tables(bind) -> list[str]:
    rows = bind.execute(
        sa.text(
            "SELECT c.table_name FROM information_schema.columns c "
            "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
            "AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' "
            "WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id' "
            "AND c.table_name <> 'tenants' ORDER BY c.table_name"
        )
    )
    return [row[0] for row in rows]


def upgrade():
    op.create_table(
        "flow_states",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("handle_digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_flow_states_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_states")),
        sa.UniqueConstraint("handle_digest", name=op.f("uq_flow_states_handle_digest")),
    )
    with op.batch_alter_table("flow_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flow_states_expires_at"), ["expires_at"])
        batch_op.create_index(batch_op.f("ix_flow_states_tenant_id"), ["tenant_id"])

    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return  # SQLite has no row-level security: the tenant filter is the only wall
    op.execute(
        f"""
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} NOLOGIN;
          END IF;
        EXCEPTION WHEN insufficient_privilege THEN
          RAISE NOTICE 'cannot create role {APP_ROLE}: create it, then run this migration';
          RAISE;
        END $$;
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {APP_ROLE}")
    # Tables of later migrations (made by the same owner) get the same grants.
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}"
    )
    for table in _tenant_tables(bind):
        op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        op.execute(
            f'CREATE POLICY tenant_isolation ON "{table}" USING ({VISIBLE}) WITH CHECK ({VISIBLE})'
        )
        if table in DIRECTORY_TABLES:
            op.execute(f'CREATE POLICY directory_read ON "{table}" FOR SELECT USING (true)')


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in _tenant_tables(bind):
            op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"')
            op.execute(f'DROP POLICY IF EXISTS directory_read ON "{table}"')
            op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
        op.execute(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            f"REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {APP_ROLE}"
        )
        op.execute(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            f"REVOKE USAGE, SELECT ON SEQUENCES FROM {APP_ROLE}"
        )
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}")
        op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
        # The role itself stays: roles are cluster-wide, other databases may use it.
    with op.batch_alter_table("flow_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flow_states_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_flow_states_expires_at"))
    op.drop_table("flow_states")
