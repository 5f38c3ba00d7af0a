"""Revision 0014 (dynamic client registration, #19) upgrades a database with rows at the
previous head: tenants and clients stay as they were (registration reads ``off``, the
existing clients have no registration), the new tables take tokens and registrations
and go with their tenant and client; the downgrade drops them again."""

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

SCRIPT = Path(__file__).parent.parent / "migrations" / "versions" / "0014_dynamic_registration.py"


def _revision():
    spec = importlib.util.spec_from_file_location("rev0014", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_upgrade_with_tenants_and_clients_then_register_and_cascade(tmp_path):
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
                        "'Old App', '[]', '[]', '[\"client_credentials\"]', '[\"code\"]', "
                        "'client_secret_basic', 'openid', 'RS256', :f, '[]', :f, :now)"
                    ),
                    {"now": now, "f": False},
                )
            upgrade(revision=revision.revision)
            with db.engine.begin() as conn:
                if conn.dialect.name == "sqlite":
                    conn.execute(text("PRAGMA foreign_keys = ON"))
                assert conn.execute(text("SELECT client_name FROM clients")).scalar_one() == (
                    "Old App"
                )
                assert (
                    conn.execute(text("SELECT count(*) FROM client_registrations")).scalar_one()
                    == 0
                )
                conn.execute(
                    text(
                        "INSERT INTO initial_access_tokens (id, tenant_id, name, token_digest, "
                        "uses, created_at) VALUES ('iat_A', 'ten_A', 'onboarding', :d, 0, :now)"
                    ),
                    {"now": now, "d": "a" * 64},
                )
                conn.execute(
                    text(
                        "INSERT INTO client_registrations (id, tenant_id, client_id, "
                        "token_digest, client_metadata, initial_token_id, created_at) "
                        "VALUES ('crg_A', 'ten_A', 'cli_A', :d, '{}', 'iat_A', :now)"
                    ),
                    {"now": now, "d": "b" * 64},
                )
                conn.execute(text("DELETE FROM clients WHERE id = 'cli_A'"))
                assert (
                    conn.execute(text("SELECT count(*) FROM client_registrations")).scalar_one()
                    == 0
                )
                conn.execute(text("DELETE FROM tenants WHERE id = 'ten_A'"))
                assert (
                    conn.execute(text("SELECT count(*) FROM initial_access_tokens")).scalar_one()
                    == 0
                )
            db.session.remove()
            downgrade(revision=revision.down_revision)
            tables = set(inspect(db.engine).get_table_names())
            assert not tables & {"initial_access_tokens", "client_registrations"}
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
