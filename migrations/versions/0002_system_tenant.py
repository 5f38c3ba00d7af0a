"""The system tenant: the instance operators (DESIGN §1).

Revision ID: 0002
Revises: 0001
"""

from datetime import UTC
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from ulid import ULID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

tenants = sa.table(
    "tenants",
    sa.column("id", sa.String),
    sa.column("slug", sa.String),
    sa.column("name", sa.String),
    sa.column("status", sa.String),
    sa.column("settings", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
roles = sa.table(
    "roles",
    sa.column("id", sa.String),
    sa.column("tenant_id", sa.String),
    sa.column("kind", sa.String),
    sa.column("name", sa.String),
    sa.column("description", sa.String),
    sa.column("builtin", sa.Boolean),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
BUILTIN = [
    ("tenant", "admin", "Administers this tenant"),
    ("tenant", "member", "A regular user"),
    ("org", "owner", "Owns the organization"),
    ("org", "admin", "Manages the organization's members"),
    ("org", "member", "A member of the organization"),
]


def upgrade():
    now = datetime.now(UTC)
    tenant_id = f"ten_{ULID()}"
    op.bulk_insert(
        tenants,
        [{"id": tenant_id, "slug": "system", "name": "Gatehouse", "status": "active",
          "settings": {"signup_mode": "closed", "mfa_policy": "optional"}, "created_at": now}],
    )
    op.bulk_insert(
        roles,
        [
            {"id": f"rol_{ULID()}", "tenant_id": tenant_id, "kind": kind, "name": name,
             "description": description, "builtin": True, "created_at": now}
            for kind, name, description in BUILTIN
        ],
    )


def downgrade():
    op.execute(tenants.delete().where(tenants.c.slug == "system"))
