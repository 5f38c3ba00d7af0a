"""Revision 0014 (device authorization grant, #19) upgrades a database holding rows at
the previous head: tenants, users and clients stay; device authorizations can then be stored for a
client (its user code unique per tenant) and go with the tenant; the downgrade drops the
table and keeps the rows."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import exc as sa_exc
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
    "'ten_A', 'TV', '[]', '[]', '[\"authorization_code\"]', '[\"code\"]', "
    "'none', 'openid', 'RS256', false, '[]', false, :now)"
)
DEVICE_ROW = (
    "INSERT INTO device_authorizations (id, tenant_id, client_id, device_code_digest, "
    "user_code_digest, scope, resources, status, expires_at, interval, created_at) VALUES "
    "(:id, 'ten_A', 'cli_A', :device, :user, 'openid', '[]', 'pending', :now, 5, :now)"
)


def test_upgrade_with_rows_then_store_device_authorizations(tmp_path):
    revision = revision_script("0014_device_authorizations.py")
    now = datetime.now(UTC)
    with app_at(tmp_path, revision.down_revision):
        with db.engine.begin() as conn:
            for statement in (TENANT_ROW, USER_ROW, CLIENT_ROW):
                conn.execute(text(statement), {"now": now})
        upgrade(revision=revision.revision)
        with db.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(text("PRAGMA foreign_keys = ON"))
            assert conn.execute(text("SELECT client_name FROM clients")).scalar_one() == "TV"
            conn.execute(
                text(DEVICE_ROW), {"id": "dva_A", "device": "d" * 64, "user": "u" * 64, "now": now}
            )
            row = conn.execute(text("SELECT status, interval FROM device_authorizations")).one()
            assert (row.status, row.interval) == ("pending", 5)
        # One user code per tenant.
        with pytest.raises(sa_exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(
                text(DEVICE_ROW), {"id": "dva_B", "device": "e" * 64, "user": "u" * 64, "now": now}
            )
        with db.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(text("PRAGMA foreign_keys = ON"))
            conn.execute(text("DELETE FROM tenants WHERE id = 'ten_A'"))
            assert conn.execute(text("SELECT count(*) FROM device_authorizations")).scalar() == 0
            conn.execute(text(TENANT_ROW), {"now": now})
            conn.execute(text(USER_ROW), {"now": now})
        db.session.remove()
        downgrade(revision=revision.down_revision)
        assert "device_authorizations" not in inspect(db.engine).get_table_names()
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 1
        db.session.remove()
        db.engine.dispose()
