"""Revision 0006 (enterprise SSO) upgrades a database with real rows in it."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask_migrate import upgrade
from sqlalchemy import text

from app.extensions import db
from tests.support.migrations import TENANT_ROW
from tests.support.migrations import USER_ROW
from tests.support.migrations import app_at
from tests.support.migrations import revision_script


def test_upgrade_keeps_rows_and_adds_the_sso_schema(tmp_path):
    revision = revision_script("0006_enterprise_sso.py")
    now = datetime.now(UTC)
    with app_at(tmp_path, revision.down_revision):
        with db.engine.begin() as conn:
            conn.execute(text(TENANT_ROW), {"now": now})
            conn.execute(text(USER_ROW), {"now": now})
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
