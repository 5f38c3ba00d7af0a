"""Revision 0006 (enterprise SSO) upgrades a database with real rows in it."""

from __future__ import annotations

import importlib.util
from datetime import UTC
from datetime import datetime
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.conftest import TEST_CONFIG
from tests.support.database import create_test_database

SCRIPT = Path(__file__).parent.parent / "migrations" / "versions" / "0006_enterprise_sso.py"


def _revision():
    spec = importlib.util.spec_from_file_location("rev0006", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_upgrade_keeps_rows_and_adds_the_sso_schema(tmp_path):
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
                        "INSERT INTO users (id, tenant_id, email, name, email_verified, status, "
                        "failed_logins, metadata, created_at) VALUES ('usr_A', 'ten_A', "
                        "'a@acme.example', 'Ada', true, 'active', 0, '{}', :now)"
                    ),
                    {"now": now},
                )
                conn.execute(
                    text(
                        "INSERT INTO organizations (id, tenant_id, name, slug, domains, "
                        "created_at) VALUES ('org_A', 'ten_A', 'Eng', 'eng', '[]', :now)"
                    ),
                    {"now": now},
                )
                conn.execute(
                    text(
                        "INSERT INTO browser_sessions (id, tenant_id, user_id, token_digest, "
                        "auth_time, last_seen_at, expires_at, amr, ip, user_agent, created_at) "
                        "VALUES ('ses_A', 'ten_A', 'usr_A', :digest, :now, :now, :now, "
                        "'[\"pwd\"]', '', '', :now)"
                    ),
                    {"now": now, "digest": "d" * 64},
                )
            upgrade(revision=revision.revision)
            with db.engine.begin() as conn:
                session = conn.execute(text("SELECT user_id, idp FROM browser_sessions")).one()
                assert session == ("usr_A", None)
                assert conn.execute(text("SELECT slug FROM organizations")).scalar() == "eng"
                conn.execute(
                    text(
                        "INSERT INTO org_domains (id, tenant_id, org_id, domain, "
                        "verification_token, created_at) VALUES ('odm_A', 'ten_A', 'org_A', "
                        "'acme.example', 'tok', :now)"
                    ),
                    {"now": now},
                )
                conn.execute(
                    text(
                        "INSERT INTO sso_connections (id, tenant_id, org_id, kind, name, domains, "
                        "enforced, role_mapping, idp_initiated, scopes, created_at) VALUES "
                        "('con_A', 'ten_A', 'org_A', 'saml', 'Okta', '[\"acme.example\"]', "
                        "false, '{}', false, '[]', :now)"
                    ),
                    {"now": now},
                )
                conn.execute(
                    text(
                        "INSERT INTO scim_tokens (id, tenant_id, org_id, name, token_digest, "
                        "created_at) VALUES ('sct_A', 'ten_A', 'org_A', 'okta', :d, :now)"
                    ),
                    {"now": now, "d": "e" * 64},
                )
                conn.execute(text("UPDATE browser_sessions SET idp = 'con_A'"))
                # Deleting the organization takes its SSO rows with it (ON DELETE CASCADE).
                if conn.dialect.name == "sqlite":
                    conn.execute(text("PRAGMA foreign_keys=ON"))
                conn.execute(text("DELETE FROM organizations WHERE id = 'org_A'"))
                left = conn.execute(text("SELECT count(*) FROM sso_connections")).scalar()
                assert left == 0
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
