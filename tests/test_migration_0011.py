"""Revision 0011 (logo upload, #20) upgrades a database with rows at the previous head:
tenants keep their branding, can then store a logo, and lose it with the tenant; the
downgrade drops the table again."""

from __future__ import annotations

import importlib.util
from datetime import UTC
from datetime import datetime
from pathlib import Path

from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import inspect
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.conftest import TEST_CONFIG
from tests.support.database import create_test_database

SCRIPT = Path(__file__).parent.parent / "migrations" / "versions" / "0011_tenant_logo.py"


def _revision():
    spec = importlib.util.spec_from_file_location("rev0011", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_upgrade_with_tenants_then_store_and_cascade_a_logo(tmp_path):
    revision = _revision()
    url, drop = create_test_database(tmp_path)
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    now = datetime.now(UTC)
    settings = '{"branding": {"logo_url": "https://cdn.example/l.png"}}'
    try:
        with app.app_context():
            upgrade(revision=revision.down_revision)
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
    finally:
        drop()
