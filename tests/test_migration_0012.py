"""Revision 0012 (pushed authorization requests, #19) upgrades a database with a client at
the previous head: the client reads ``require_pushed_authorization_requests`` false, can be
switched on, and a client inserted without the column (an older release, during a rolling
upgrade) gets false too; the downgrade drops the column and keeps the clients."""

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

SCRIPT = (
    Path(__file__).parent.parent
    / "migrations"
    / "versions"
    / "0012_pushed_authorization_requests.py"
)
TENANT = (
    "INSERT INTO tenants (id, slug, name, status, settings, created_at) "
    "VALUES ('ten_A', 'acme', 'Acme', 'active', '{}', :now)"
)
CLIENT = (
    "INSERT INTO clients (id, tenant_id, client_name, redirect_uris, post_logout_redirect_uris, "
    "grant_types, response_types, token_endpoint_auth_method, scope, "
    "id_token_signed_response_alg, first_party, roles, disabled, created_at) VALUES (:id, "
    "'ten_A', 'App', '[]', '[]', '[\"authorization_code\"]', '[\"code\"]', "
    "'client_secret_basic', 'openid', 'RS256', false, '[]', false, :now)"
)
FLAG = "SELECT require_pushed_authorization_requests FROM clients WHERE id = :id"


def _revision():
    spec = importlib.util.spec_from_file_location("rev0012", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_upgrade_with_clients_then_require_par(tmp_path):
    revision = _revision()
    url, drop = create_test_database(tmp_path)
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    now = datetime.now(UTC)
    try:
        with app.app_context():
            upgrade(revision=revision.down_revision)
            with db.engine.begin() as conn:
                conn.execute(text(TENANT), {"now": now})
                conn.execute(text(CLIENT), {"id": "cli_A", "now": now})
            upgrade(revision=revision.revision)
            with db.engine.begin() as conn:
                assert conn.execute(text(FLAG), {"id": "cli_A"}).scalar_one() in (False, 0)
                conn.execute(text(CLIENT), {"id": "cli_B", "now": now})  # an older release
                assert conn.execute(text(FLAG), {"id": "cli_B"}).scalar_one() in (False, 0)
                conn.execute(
                    text(
                        "UPDATE clients SET require_pushed_authorization_requests = true "
                        "WHERE id = 'cli_A'"
                    )
                )
                assert conn.execute(text(FLAG), {"id": "cli_A"}).scalar_one() in (True, 1)
            db.session.remove()
            downgrade(revision=revision.down_revision)
            columns = {c["name"] for c in inspect(db.engine).get_columns("clients")}
            assert "require_pushed_authorization_requests" not in columns
            with db.engine.begin() as conn:
                assert conn.execute(text("SELECT count(*) FROM clients")).scalar_one() == 2
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
