"""Revision 0012 (pushed authorization requests, #19) upgrades a database with a client at
the previous head: the client reads ``require_pushed_authorization_requests`` false, can be
switched on, and a client inserted without the column (an older release, during a rolling
upgrade) gets false too; the downgrade drops the column and keeps the clients."""

from __future__ import annotations

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
    "id_token_signed_response_alg, first_party, roles, disabled, created_at) VALUES (:id, "
    "'ten_A', 'App', '[]', '[]', '[\"authorization_code\"]', '[\"code\"]', "
    "'client_secret_basic', 'openid', 'RS256', false, '[]', false, :now)"
)
FLAG = "SELECT require_pushed_authorization_requests FROM clients WHERE id = :id"
# Rows that reference the client (ON DELETE CASCADE): SQLite rebuilds `clients` to add the
# column, and with foreign keys enforced that rebuild used to delete them all.
CHILDREN = [
    "INSERT INTO grants (id, tenant_id, client_id, user_id, scope, amr, resources, expires_at, "
    "created_at) VALUES ('gnt_A', 'ten_A', 'cli_A', 'usr_A', 'openid', '[]', '[]', :now, :now)",
    "INSERT INTO consents (id, tenant_id, user_id, client_id, scope, permissions, created_at) "
    "VALUES ('cns_A', 'ten_A', 'usr_A', 'cli_A', 'openid', '{}', :now)",
    "INSERT INTO authorization_codes (id, tenant_id, code_digest, client_id, user_id, "
    "redirect_uri, scope, auth_time, amr, resources, expires_at, created_at) VALUES ('cod_A', "
    "'ten_A', :digest, 'cli_A', 'usr_A', '', 'openid', :now, '[]', '[]', :now, :now)",
]
COUNTS = (
    "SELECT (SELECT count(*) FROM grants) + (SELECT count(*) FROM consents) + "
    "(SELECT count(*) FROM authorization_codes)"
)


def test_upgrade_with_clients_then_require_par(tmp_path):
    revision = revision_script("0012_pushed_authorization_requests.py")
    now = datetime.now(UTC)
    with app_at(tmp_path, revision.down_revision):
        with db.engine.begin() as conn:
            conn.execute(text(TENANT_ROW), {"now": now})
            conn.execute(text(CLIENT_ROW), {"id": "cli_A", "now": now})
            conn.execute(text(USER_ROW), {"now": now})
            for statement in CHILDREN:
                conn.execute(text(statement), {"now": now, "digest": "d" * 64})
        upgrade(revision=revision.revision)
        with db.engine.begin() as conn:
            assert conn.execute(text(COUNTS)).scalar_one() == 3  # nothing cascaded away
            assert conn.execute(text(FLAG), {"id": "cli_A"}).scalar_one() in (False, 0)
            conn.execute(text(CLIENT_ROW), {"id": "cli_B", "now": now})  # an older release
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
            assert conn.execute(text(COUNTS)).scalar_one() == 3
