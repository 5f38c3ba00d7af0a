"""Pushed authorization requests (RFC 9126, #19): a client may be required to push its
authorization requests. The pushed requests themselves live in ``flow_states`` (0007).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    # A server default: rows written by a process still running the previous release
    # (during a rolling upgrade) get false.
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "require_pushed_authorization_requests",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade():
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("require_pushed_authorization_requests")
