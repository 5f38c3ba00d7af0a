"""Revision 0015 (back-channel logout, #19) upgrades a database with rows at the previous
head: existing clients have no back-channel logout URI and keep their grants; logout
deliveries go with their client; the downgrade removes the table and the columns and
keeps the clients and their grants."""

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

DELIVERY_ROW = (
    "INSERT INTO backchannel_logout_deliveries (id, tenant_id, client_id, session_id, subject, "
    "reason, status, attempts, started_at, next_attempt_at, history, created_at) VALUES "
    "(:id, 'ten_A', 'cli_A', 'ses_A', 'usr_A', 'logout', 'pending', 0, :now, :now, '[]', :now)"
)


def _count(conn, table: str) -> int:
    return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608


def test_upgrade_with_clients_and_grants_then_downgrade(tmp_path):
    revision = revision_script("0015_backchannel_logout.py")
    now = datetime.now(UTC)
    with app_at(tmp_path, revision.down_revision):
        with db.engine.begin() as conn:
            conn.execute(text(TENANT_ROW), {"now": now})
            conn.execute(text(CLIENT_ROW), {"now": now, "f": False, "method": "none"})
            conn.execute(text(GRANT_ROW), {"now": now})
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
            conn.execute(text(DELIVERY_ROW), {"now": now, "id": "bcl_A"})
            assert _count(conn, "backchannel_logout_deliveries") == 1
        db.session.remove()
        downgrade(revision=revision.down_revision)
        assert "backchannel_logout_deliveries" not in inspect(db.engine).get_table_names()
        columns = {c["name"] for c in inspect(db.engine).get_columns("clients")}
        assert "backchannel_logout_uri" not in columns
        with db.engine.begin() as conn:  # the downgrade kept clients and their grants
            assert _count(conn, "clients") == 1 and _count(conn, "grants") == 1
        upgrade(revision=revision.revision)
        with db.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(text("PRAGMA foreign_keys = ON"))
            conn.execute(text(DELIVERY_ROW), {"now": now, "id": "bcl_B"})
            conn.execute(text("DELETE FROM clients WHERE id = 'cli_A'"))
            assert _count(conn, "backchannel_logout_deliveries") == 0
        db.session.remove()
