"""Revision 0013 (back-channel logout, #19) upgrades a database with rows at the previous
head: existing clients have no back-channel logout URI and keep their grants; logout
deliveries go with their client; the downgrade removes the table and the columns and
keeps the clients and their grants."""

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

SCRIPT = Path(__file__).parent.parent / "migrations" / "versions" / "0013_backchannel_logout.py"


def _revision():
    spec = importlib.util.spec_from_file_location("rev0013", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _count(conn, table: str) -> int:
    return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608


def test_upgrade_with_clients_and_grants_then_downgrade(tmp_path):
    revision = _revision()
    url, drop = create_test_database(tmp_path)
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    now = datetime.now(UTC)
    try:
        with app.app_context():
            upgrade(revision=revision.down_revision)
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO tenants (id, slug, name, status, settings, created_at) "
                        "VALUES ('ten_A', 'acme', 'Acme', 'active', '{}', :now)"
                    ),
                    {"now": now},
                )
                conn.execute(
                    text(
                        "INSERT INTO clients (id, tenant_id, client_name, redirect_uris, "
                        "post_logout_redirect_uris, grant_types, response_types, "
                        "token_endpoint_auth_method, scope, id_token_signed_response_alg, "
                        "first_party, roles, disabled, created_at) VALUES ('cli_A', 'ten_A', "
                        "'App', '[]', '[]', '[]', '[]', 'none', 'openid', 'RS256', :f, '[]', "
                        ":f, :now)"
                    ),
                    {"now": now, "f": False},
                )
                conn.execute(
                    text(
                        "INSERT INTO grants (id, tenant_id, client_id, session_id, scope, amr, "
                        "expires_at, resources, created_at) VALUES ('gnt_A', 'ten_A', 'cli_A', "
                        "'ses_A', 'openid', '[]', :now, '[]', :now)"
                    ),
                    {"now": now},
                )
            upgrade(revision=revision.revision)
            with db.engine.begin() as conn:
                row = conn.execute(
                    text(
                        "SELECT backchannel_logout_uri, backchannel_logout_session_required "
                        "FROM clients WHERE id = 'cli_A'"
                    )
                ).one()
                assert row.backchannel_logout_uri is None
                assert not row.backchannel_logout_session_required
                assert _count(conn, "grants") == 1
                conn.execute(
                    text(
                        "UPDATE clients SET backchannel_logout_uri = 'https://rp.example/bcl' "
                        "WHERE id = 'cli_A'"
                    )
                )
                conn.execute(
                    text(
                        "INSERT INTO backchannel_logout_deliveries (id, tenant_id, client_id, "
                        "session_id, subject, reason, status, attempts, started_at, "
                        "next_attempt_at, history, created_at) VALUES ('bcl_A', 'ten_A', "
                        "'cli_A', 'ses_A', 'usr_A', 'logout', 'pending', 0, :now, :now, '[]', "
                        ":now)"
                    ),
                    {"now": now},
                )
                assert _count(conn, "backchannel_logout_deliveries") == 1
            db.session.remove()
            downgrade(revision=revision.down_revision)
            names = inspect(db.engine).get_table_names()
            assert "backchannel_logout_deliveries" not in names
            columns = {c["name"] for c in inspect(db.engine).get_columns("clients")}
            assert "backchannel_logout_uri" not in columns
            with db.engine.begin() as conn:  # the downgrade kept clients and their grants
                assert _count(conn, "clients") == 1 and _count(conn, "grants") == 1
            upgrade(revision=revision.revision)
            with db.engine.begin() as conn:
                if conn.dialect.name == "sqlite":
                    conn.execute(text("PRAGMA foreign_keys = ON"))
                conn.execute(
                    text(
                        "INSERT INTO backchannel_logout_deliveries (id, tenant_id, client_id, "
                        "session_id, subject, reason, status, attempts, started_at, history, "
                        "created_at) VALUES ('bcl_B', 'ten_A', 'cli_A', 'ses_A', 'usr_A', "
                        "'logout', 'pending', 0, :now, '[]', :now)"
                    ),
                    {"now": now},
                )
                conn.execute(text("DELETE FROM clients WHERE id = 'cli_A'"))
                assert _count(conn, "backchannel_logout_deliveries") == 0
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
