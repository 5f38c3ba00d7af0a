"""Revision 0016 (DPoP, #19) upgrades a database with rows at the previous head: existing
clients are not DPoP-bound, existing refresh tokens are bound to no key and keep their
grants, codes get a ``dpop_jkt``; the downgrade removes the columns and keeps the rows."""

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

REFRESH_ROW = (
    "INSERT INTO refresh_tokens (id, tenant_id, grant_id, token_digest, expires_at, created_at) "
    "VALUES ('rft_A', 'ten_A', 'gnt_A', 'digest-a', :now, :now)"
)


def _count(conn, table: str) -> int:
    return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608


def test_upgrade_with_clients_and_refresh_tokens_then_downgrade(tmp_path):
    revision = revision_script("0016_dpop.py")
    now = datetime.now(UTC)
    with app_at(tmp_path, revision.down_revision):
        with db.engine.begin() as conn:
            conn.execute(text(TENANT_ROW), {"now": now})
            conn.execute(text(CLIENT_ROW), {"now": now, "f": False, "method": "none"})
            conn.execute(text(GRANT_ROW), {"now": now})
            conn.execute(text(REFRESH_ROW), {"now": now})
        upgrade(revision=revision.revision)
        with db.engine.begin() as conn:
            flag = conn.execute(
                text("SELECT dpop_bound_access_tokens FROM clients WHERE id = 'cli_A'")
            ).scalar_one()
            assert not flag
            jkt = conn.execute(
                text("SELECT dpop_jkt FROM refresh_tokens WHERE id = 'rft_A'")
            ).scalar_one()
            assert jkt is None
            columns = {c["name"] for c in inspect(conn).get_columns("authorization_codes")}
            assert "dpop_jkt" in columns
            conn.execute(text("UPDATE refresh_tokens SET dpop_jkt = 'thumb' WHERE id = 'rft_A'"))
            conn.execute(text("UPDATE clients SET dpop_bound_access_tokens = :t"), {"t": True})
            assert _count(conn, "grants") == 1
        db.session.remove()
        downgrade(revision=revision.down_revision)
        inspector = inspect(db.engine)
        assert "dpop_bound_access_tokens" not in {
            c["name"] for c in inspector.get_columns("clients")
        }
        for table in ("refresh_tokens", "authorization_codes"):
            assert "dpop_jkt" not in {c["name"] for c in inspector.get_columns(table)}
        with db.engine.begin() as conn:  # the downgrade kept every row
            assert _count(conn, "clients") == 1
            assert _count(conn, "grants") == 1
            assert _count(conn, "refresh_tokens") == 1
