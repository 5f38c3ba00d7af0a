"""Revision 0017 (client keys, #19: private_key_jwt and request objects) upgrades a
database with rows at the previous head: existing clients have no keys and keep their
grants; the downgrade removes the columns and keeps the clients and their grants."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import inspect
from sqlalchemy import text

from app.extensions import db
from tests.support.migrations import CLIENT_ROW
from tests.support.migrations import GRANT_ROW
from tests.support.migrations import TENANT_ROW
from tests.support.migrations import app_at
from tests.support.migrations import revision_script

JWKS = '{"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "kid": "k1"}]}'


def _count(conn, table: str) -> int:
    return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608


def test_upgrade_with_clients_and_grants_then_downgrade(tmp_path):
    revision = revision_script("0017_client_keys.py")
    now = datetime.now(UTC)
    with app_at(tmp_path, revision.down_revision):
        with db.engine.begin() as conn:
            conn.execute(text(TENANT_ROW), {"now": now})
            conn.execute(
                text(CLIENT_ROW), {"now": now, "f": False, "method": "client_secret_basic"}
            )
            conn.execute(text(GRANT_ROW), {"now": now})
        upgrade(revision=revision.revision)
        with db.engine.begin() as conn:
            row = conn.execute(text("SELECT jwks, jwks_uri FROM clients WHERE id = 'cli_A'")).one()
            assert row.jwks is None and row.jwks_uri is None
            assert _count(conn, "grants") == 1
            conn.execute(
                text(
                    "UPDATE clients SET jwks = :jwks, jwks_uri = NULL, "
                    "token_endpoint_auth_method = 'private_key_jwt' WHERE id = 'cli_A'"
                ),
                {"jwks": JWKS},
            )
        db.session.remove()
        downgrade(revision=revision.down_revision)
        columns = {c["name"] for c in inspect(db.engine).get_columns("clients")}
        assert "jwks" not in columns and "jwks_uri" not in columns
        with db.engine.begin() as conn:  # the downgrade kept clients and their grants
            assert _count(conn, "clients") == 1 and _count(conn, "grants") == 1
        upgrade(revision=revision.revision)
        db.session.remove()
