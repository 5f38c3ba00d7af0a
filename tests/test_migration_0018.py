"""Revision 0018 (acr and the claims request, #19) upgrades a database with rows at the
previous head: existing codes and grants have no claims request and no acr (the ID token
then derives acr from amr), new ones keep theirs; the downgrade removes the columns and
keeps the rows."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime

from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import inspect
from sqlalchemy import text

from app.extensions import db
from tests.support.migrations import TENANT_ROW
from tests.support.migrations import USER_ROW
from tests.support.migrations import app_at
from tests.support.migrations import revision_script

CLIENT_ROW = (
    "INSERT INTO clients (id, tenant_id, client_name, redirect_uris, post_logout_redirect_uris, "
    "grant_types, response_types, token_endpoint_auth_method, scope, "
    "id_token_signed_response_alg, first_party, roles, disabled, created_at) VALUES ('cli_A', "
    "'ten_A', 'App', '[]', '[]', '[]', '[]', 'none', 'openid', 'RS256', :f, '[]', :f, :now)"
)
GRANT_ROW = (
    "INSERT INTO grants (id, tenant_id, client_id, user_id, session_id, scope, amr, "
    "expires_at, resources, created_at) VALUES ('gnt_A', 'ten_A', 'cli_A', 'usr_A', 'ses_A', "
    "'openid', '[\"pwd\"]', :now, '[]', :now)"
)
CODE_ROW = (
    "INSERT INTO authorization_codes (id, tenant_id, code_digest, client_id, user_id, "
    "redirect_uri, scope, auth_time, amr, expires_at, resources, created_at) VALUES "
    "('cod_A', 'ten_A', 'digest-a', 'cli_A', 'usr_A', '', 'openid', :now, '[\"pwd\"]', :now, "
    "'[]', :now)"
)


def _columns(table: str) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns(table)}


def test_upgrade_with_codes_and_grants_then_downgrade(tmp_path):
    revision = revision_script("0018_acr_claims_request.py")
    now = datetime.now(UTC)
    with app_at(tmp_path, revision.down_revision):
        with db.engine.begin() as conn:
            conn.execute(text(TENANT_ROW), {"now": now})
            conn.execute(text(USER_ROW), {"now": now})
            conn.execute(text(CLIENT_ROW), {"now": now, "f": False})
            conn.execute(text(GRANT_ROW), {"now": now})
            conn.execute(text(CODE_ROW), {"now": now})
        upgrade(revision=revision.revision)
        with db.engine.begin() as conn:
            grant = conn.execute(text("SELECT acr, claims_request, amr FROM grants")).one()
            assert grant.acr is None and grant.claims_request is None
            code = conn.execute(text("SELECT claims_request FROM authorization_codes")).one()
            assert code.claims_request is None
            asked = json.dumps({"id_token": ["email"]})
            conn.execute(
                text("UPDATE grants SET acr = 'mfa', claims_request = :c WHERE id = 'gnt_A'"),
                {"c": asked},
            )
            stored = conn.execute(text("SELECT acr, claims_request FROM grants")).one()
            assert stored.acr == "mfa"
            value = stored.claims_request  # text on SQLite, decoded by psycopg
            assert (json.loads(value) if isinstance(value, str) else value) == {
                "id_token": ["email"]
            }
        db.session.remove()
        downgrade(revision=revision.down_revision)
        assert {"acr", "claims_request"}.isdisjoint(_columns("grants"))
        assert "claims_request" not in _columns("authorization_codes")
        assert "acr" in _columns("authorization_codes")  # 0001's column stays
        with db.engine.begin() as conn:
            count = conn.execute(text("SELECT count(*) FROM grants")).scalar_one()
            codes = conn.execute(text("SELECT count(*) FROM authorization_codes")).scalar_one()
            assert count == 1 and codes == 1
        db.session.remove()
