"""Revision 0013 (dynamic client registration, #19) upgrades a database with rows at the
revision before it: tenants and clients stay as they were (registration reads ``off``,
the existing clients have no registration), the new tables take tokens and registrations
and go with their tenant and client; the downgrade drops them again."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import inspect
from sqlalchemy import text

from app.extensions import db
from tests.support.migrations import TENANT_ROW
from tests.support.migrations import app_at
from tests.support.migrations import revision_script

CLIENT_ROW = (
    "INSERT INTO clients (id, tenant_id, client_name, redirect_uris, post_logout_redirect_uris, "
    "grant_types, response_types, token_endpoint_auth_method, scope, "
    "id_token_signed_response_alg, first_party, roles, disabled, created_at) VALUES ('cli_A', "
    "'ten_A', 'Old App', '[]', '[]', '[\"client_credentials\"]', '[\"code\"]', "
    "'client_secret_basic', 'openid', 'RS256', :f, '[]', :f, :now)"
)


def _count(conn, table: str) -> int:
    return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_upgrade_with_tenants_and_clients_then_register_and_cascade(tmp_path):
    revision = revision_script("0013_dynamic_registration.py")
    now = datetime.now(UTC)
    with app_at(tmp_path, revision.down_revision):
        with db.engine.begin() as conn:
            conn.execute(text(TENANT_ROW), {"now": now})
            conn.execute(text(CLIENT_ROW), {"now": now, "f": False})
        upgrade(revision=revision.revision)
        with db.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(text("PRAGMA foreign_keys = ON"))
            assert conn.execute(text("SELECT client_name FROM clients")).scalar_one() == "Old App"
            assert _count(conn, "client_registrations") == 0
            conn.execute(
                text(
                    "INSERT INTO initial_access_tokens (id, tenant_id, name, token_digest, "
                    "uses, created_at) VALUES ('iat_A', 'ten_A', 'onboarding', :d, 0, :now)"
                ),
                {"now": now, "d": "a" * 64},
            )
            conn.execute(
                text(
                    "INSERT INTO client_registrations (id, tenant_id, client_id, token_digest, "
                    "client_metadata, initial_token_id, created_at) "
                    "VALUES ('crg_A', 'ten_A', 'cli_A', :d, '{}', 'iat_A', :now)"
                ),
                {"now": now, "d": "b" * 64},
            )
            conn.execute(text("DELETE FROM clients WHERE id = 'cli_A'"))
            assert _count(conn, "client_registrations") == 0
            assert _count(conn, "initial_access_tokens") == 1  # a token outlives its clients
            conn.execute(text("DELETE FROM tenants WHERE id = 'ten_A'"))
            assert _count(conn, "initial_access_tokens") == 0
        db.session.remove()
        downgrade(revision=revision.down_revision)
        tables = set(inspect(db.engine).get_table_names())
        assert not tables & {"initial_access_tokens", "client_registrations"}
