"""Revision 0010 (API resources) upgrades a database holding rows at the previous head:
codes, grants and consents get empty resources / permissions; the new tables work; the
downgrade keeps the old rows."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import text

from app.extensions import db
from tests.support.migrations import TENANT_ROW
from tests.support.migrations import app_at
from tests.support.migrations import revision_script

ROWS = [
    TENANT_ROW,
    "INSERT INTO users (id, tenant_id, email, name, email_verified, status, failed_logins, "
    "metadata, created_at) VALUES ('usr_A', 'ten_A', 'a@acme.example', 'Ada', true, 'active', "
    '0, \'{"plan": "pro"}\', :now)',
    "INSERT INTO roles (id, tenant_id, kind, name, description, builtin, created_at) "
    "VALUES ('rol_A', 'ten_A', 'tenant', 'member', '', true, :now)",
    "INSERT INTO clients (id, tenant_id, client_name, redirect_uris, post_logout_redirect_uris, "
    "grant_types, response_types, token_endpoint_auth_method, scope, "
    "id_token_signed_response_alg, first_party, roles, disabled, created_at) VALUES ('cli_A', "
    "'ten_A', 'App', '[]', '[]', '[\"client_credentials\"]', '[\"code\"]', "
    "'client_secret_basic', 'openid', 'RS256', false, '[]', false, :now)",
    "INSERT INTO authorization_codes (id, tenant_id, code_digest, client_id, user_id, "
    "redirect_uri, scope, auth_time, amr, expires_at, created_at) VALUES ('cod_A', 'ten_A', "
    ":digest, 'cli_A', 'usr_A', '', 'openid', :now, '[]', :now, :now)",
    "INSERT INTO grants (id, tenant_id, client_id, user_id, scope, amr, expires_at, "
    "created_at) VALUES ('gnt_A', 'ten_A', 'cli_A', 'usr_A', 'openid', '[]', :now, :now)",
    "INSERT INTO consents (id, tenant_id, user_id, client_id, scope, created_at) "
    "VALUES ('cns_A', 'ten_A', 'usr_A', 'cli_A', 'openid profile', :now)",
]


def test_0010_keeps_rows_and_adds_resources(tmp_path):
    revision = revision_script("0010_api_resources.py")
    now = datetime.now(UTC)
    with app_at(tmp_path, revision.down_revision):
        with db.engine.begin() as conn:
            for statement in ROWS:
                conn.execute(text(statement), {"now": now, "digest": "c" * 64})
        upgrade(revision=revision.revision)
        with db.engine.begin() as conn:  # 0010's own changes, before later revisions run
            assert conn.execute(text("SELECT resources FROM grants")).scalar() in ("[]", [])
        upgrade(revision="head")  # today's models below need today's schema

        from app.models import AuthorizationCode
        from app.models import Client
        from app.models import Consent
        from app.models import Grant
        from app.models import Role
        from app.models import Tenant
        from app.services import permissions
        from app.services import resources

        assert db.session.get(AuthorizationCode, "cod_A").resources == []
        assert db.session.get(Grant, "gnt_A").resources == []
        consent = db.session.get(Consent, "cns_A")
        assert (consent.scope, consent.permissions) == ("openid profile", {})
        tenant = db.session.get(Tenant, "ten_A")
        api = resources.create_resource(
            tenant,
            {
                "identifier": "https://api.acme.example",
                "name": "Acme API",
                "permissions": [{"name": "read:invoices"}, {"name": "write:invoices"}],
            },
        )
        role = db.session.get(Role, "rol_A")
        permissions.set_role_permissions(
            tenant, role, [{"resource": api.identifier, "permission": "read:invoices"}]
        )
        client = db.session.get(Client, "cli_A")
        permissions.set_client_grants(
            tenant, client, [{"resource": api.identifier, "permissions": ["write:invoices"]}]
        )
        db.session.commit()
        assert permissions.role_permission_map(tenant) == {
            ("tenant", "member"): {"https://api.acme.example": frozenset({"read:invoices"})}
        }
        assert permissions.client_grants(tenant, ["cli_A"]) == {
            "cli_A": [{"resource": "https://api.acme.example", "permissions": ["write:invoices"]}]
        }
        db.session.remove()

        downgrade(revision=revision.down_revision)
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT scope FROM consents")).scalar() == ("openid profile")
            assert conn.execute(text("SELECT id FROM grants")).scalar() == "gnt_A"
        db.session.remove()
        db.engine.dispose()
