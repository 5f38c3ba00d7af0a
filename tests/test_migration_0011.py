"""Revision 0011 (logo upload, #20) upgrades a database with rows at the previous head:
tenants keep their branding, can then store a logo, and lose it with the tenant; the
downgrade drops the table again."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import inspect
from sqlalchemy import text

from app.extensions import db
from tests.support.migrations import app_at
from tests.support.migrations import revision_script


def test_upgrade_with_tenants_then_store_and_cascade_a_logo(tmp_path):
    revision = revision_script("0011_tenant_logo.py")
    now = datetime.now(UTC)
    settings = '{"branding": {"logo_url": "https://cdn.example/l.png"}}'
    with app_at(tmp_path, revision.down_revision):
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO tenants (id, slug, name, status, settings, created_at) "
                    "VALUES ('ten_A', 'acme', 'Acme', 'active', :s, :now)"
                ),
                {"now": now, "s": settings},
            )
        upgrade(revision=revision.revision)
        with db.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(text("PRAGMA foreign_keys = ON"))
            assert conn.execute(
                text("SELECT settings FROM tenants WHERE id = 'ten_A'")
            ).scalar_one() in (
                settings,
                {"branding": {"logo_url": "https://cdn.example/l.png"}},
            )
            conn.execute(
                text(
                    "INSERT INTO tenant_logos (tenant_id, content_type, digest, size, data, "
                    "updated_at) VALUES ('ten_A', 'image/png', :d, 3, :b, :now)"
                ),
                {"now": now, "d": "a" * 64, "b": b"\x89PN"},
            )
            row = conn.execute(text("SELECT digest, data FROM tenant_logos")).one()
            assert row.digest == "a" * 64 and bytes(row.data) == b"\x89PN"
            conn.execute(text("DELETE FROM tenants WHERE id = 'ten_A'"))
            assert conn.execute(text("SELECT count(*) FROM tenant_logos")).scalar_one() == 0
        db.session.remove()
        downgrade(revision=revision.down_revision)
        assert "tenant_logos" not in inspect(db.engine).get_table_names()
        db.session.remove()
        db.engine.dispose()
