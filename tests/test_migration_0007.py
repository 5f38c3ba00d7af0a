"""Migration 0007 (scale-out): rows at 0006 survive; ``flow_states`` works; on PostgreSQL
every table with a tenant_id gets row-level security and the ``gatehouse_app`` role its
grants; the downgrade takes both away again."""

from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import text

from app.extensions import db
from tests.support.database import is_postgres
from tests.support.migrations import app_at


def _secured(tables=("users", "refresh_tokens", "flow_states")) -> set[str]:
    rows = db.session.execute(
        text("SELECT relname FROM pg_class WHERE relrowsecurity AND relname = ANY(:t)"),
        {"t": list(tables)},
    )
    return {row[0] for row in rows}


def test_0007_keeps_rows_adds_flow_states_and_row_level_security(tmp_path):
    with app_at(tmp_path, "0006"):
        tenant_id = db.session.execute(
            text("SELECT id FROM tenants WHERE slug = 'system'")
        ).scalar_one()
        db.session.execute(
            text(
                "INSERT INTO users (id, tenant_id, email, name, password_hash, "
                "email_verified, status, failed_logins, metadata, created_at) VALUES "
                "('usr_01OLD', :t, 'old@example.com', 'Old Timer', '$argon2id$v=19$x', "
                ":yes, 'active', 0, '{}', CURRENT_TIMESTAMP)"
            ),
            {"t": tenant_id, "yes": True},
        )
        db.session.commit()
        upgrade(revision="0007")
        assert db.session.execute(text("SELECT email FROM users")).scalar_one() == (
            "old@example.com"
        )
        if is_postgres():
            assert _secured() == {"users", "refresh_tokens", "flow_states"}
            assert db.session.execute(
                text("SELECT has_table_privilege('gatehouse_app', 'users', 'SELECT')")
            ).scalar()
        # The models are today's: use them at the head (later revisions add columns).
        db.session.remove()
        upgrade()
        from app.services import flow_states
        from app.services.tenants import get_tenant

        system = get_tenant("system")
        handle = flow_states.put(system, "mfa_pending", {"user_id": "usr_01OLD"}, 60)
        db.session.commit()
        assert flow_states.take(system, "mfa_pending", handle) == {"user_id": "usr_01OLD"}
        assert flow_states.take(system, "mfa_pending", handle) is None  # once
        db.session.commit()
        db.session.remove()
        downgrade(revision="0006")
        assert db.session.execute(text("SELECT count(*) FROM users")).scalar() == 1
        if is_postgres():
            assert _secured() == set()
        db.session.remove()
        db.engine.dispose()
