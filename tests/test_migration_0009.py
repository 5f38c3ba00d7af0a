"""Revision 0009 (hosted pages, #20) upgrades a database with real rows in it: custom
domains that routed before verification existed stay verified (and keep routing)."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import text

from app.extensions import db
from tests.support.migrations import TENANT_ROW
from tests.support.migrations import USER_ROW
from tests.support.migrations import app_at
from tests.support.migrations import revision_script


def test_upgrade_keeps_existing_custom_domains_verified(tmp_path):
    revision = revision_script("0009_hosted_pages.py")
    now = datetime.now(UTC)
    with app_at(tmp_path, revision.down_revision):
        with db.engine.begin() as conn:
            conn.execute(text(TENANT_ROW), {"now": now})
            conn.execute(
                text(
                    "INSERT INTO custom_domains (id, tenant_id, host, created_at) "
                    "VALUES ('dom_A', 'ten_A', 'login.acme.example', :now)"
                ),
                {"now": now},
            )
            conn.execute(text(USER_ROW), {"now": now})
            conn.execute(
                text(
                    'INSERT INTO outbox_messages (id, tenant_id, "to", subject, body_text, '
                    "status, attempts, created_at) VALUES ('msg_A', 'ten_A', "
                    "'a@acme.example', 'Hi', 'Hello', 'pending', 0, :now)"
                ),
                {"now": now},
            )
        upgrade(revision=revision.revision)
        with db.engine.begin() as conn:
            row = conn.execute(
                text(
                    "SELECT host, verification_token, verified_at, verified_by FROM custom_domains"
                )
            ).one()
            assert row.host == "login.acme.example"
            assert len(row.verification_token) >= 24
            assert row.verified_at is not None and row.verified_by == "migration"
            mail = conn.execute(
                text("SELECT body_text, body_html, reply_to FROM outbox_messages")
            ).one()
            assert tuple(mail) == ("Hello", None, None)
            conn.execute(
                text(
                    "INSERT INTO login_codes (id, tenant_id, method, user_id, secret_digest, "
                    "browser_digest, next_url, attempts, expires_at, created_at) VALUES "
                    "('lgc_A', 'ten_A', 'email_code', 'usr_A', :d, :d, '', 0, :now, :now)"
                ),
                {"now": now, "d": "d" * 64},
            )
            conn.execute(
                text(
                    "INSERT INTO email_templates (id, tenant_id, name, locale, subject, "
                    "text, html, updated_at, created_at) VALUES ('etp_A', 'ten_A', "
                    "'verify_email', 'es', 'Hola', '{{ link }}', '', :now, :now)"
                ),
                {"now": now},
            )
            # A new row without a token is refused: the column is required now.
            failed = False
            try:
                with conn.begin_nested():
                    conn.execute(
                        text(
                            "INSERT INTO custom_domains (id, tenant_id, host, created_at) "
                            "VALUES ('dom_B', 'ten_A', 'b.acme.example', :now)"
                        ),
                        {"now": now},
                    )
            except Exception:  # noqa: BLE001 - NOT NULL violation, either backend
                failed = True
            assert failed
        from app import tenancy

        acme = tenancy.resolve_tenant("login.acme.example", None, "gatehouse.test")
        assert acme.id == "ten_A"
        db.session.remove()  # its read would hold a lock that ALTER TABLE waits for
        downgrade(revision=revision.down_revision)
        db.session.remove()
        db.engine.dispose()
