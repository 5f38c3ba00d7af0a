"""Passwordless sign-in does the same work for every address (#20, user enumeration by
timing): the same SQL statements in the same order and the same rows per table for a
known, an unknown and a locked address; only the known address's mail is delivered (the
others' are ``suppressed`` decoys, never sent, never listed in the dev outbox)."""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy import select

from app import worker
from app.extensions import db
from app.models import OutboxMessage
from app.models import User
from app.models.base import utcnow
from app.services import settings as settings_service
from app.services import tenants as tenants_service
from tests.support.http import TenantClient

EMAIL = "ada@example.com"
_LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+\b")


@contextlib.contextmanager
def statements(app):
    """The SQL statements run inside the block, literals normalised."""
    seen: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):
        seen.append(_LITERAL.sub("?", " ".join(statement.split())))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def inserted(seen: list[str]) -> Counter:
    return Counter(s.split()[2] for s in seen if s.upper().startswith("INSERT INTO"))


@pytest.fixture
def mail_app(make_app, tenant, user, smtp_server):
    # No poll of the configuration version inside a compared request: it runs at most once
    # per interval per worker (app/tenant_cache.py), whichever request comes then, so a
    # slow machine put it into one address's statements and not another's.
    app = make_app(
        SMTP_URL=smtp_server.url, OUTBOX_DRAIN_ON_COMMIT=False, TENANT_SYNC_INTERVAL=3600
    )
    with app.app_context():
        acme = tenants_service.get_tenant("acme-corp")
        settings_service.update_settings(acme, {"login_methods": ["email_code", "magic_link"]})
        db.session.commit()
    return app


def ask(app, email, method):
    browser = TenantClient(app.test_client(), "acme-corp.gatehouse.test")
    with statements(app) as seen:
        answer = browser.submit("/login/code", {"email": email, "method": method})
    assert answer.status_code == 200
    return seen


def outbox(app, to):
    with app.app_context():
        stmt = select(OutboxMessage).where(OutboxMessage.to == to).order_by(OutboxMessage.id)
        return [(m.status, m.subject) for m in db.session.scalars(stmt)]


@pytest.mark.parametrize("method", ["email_code", "magic_link"])
def test_known_and_unknown_addresses_run_the_same_statements(mail_app, smtp_server, method):
    ask(mail_app, "warm@example.com", method)  # first-request caches out of the way
    known = ask(mail_app, EMAIL, method)
    unknown = ask(mail_app, "nobody@example.com", method)
    assert known == unknown
    assert any(s.startswith("UPDATE login_codes") for s in known)
    rows = inserted(known)
    assert rows == inserted(unknown)
    assert rows["login_codes"] == rows["outbox_messages"] == 1 and rows["audit_events"] >= 1
    # The decoy is rendered like the real mail, then never delivered.
    ((status, subject),) = outbox(mail_app, "nobody@example.com")
    real = outbox(mail_app, EMAIL)[0][1]
    assert status == "suppressed" and re.sub(r"\d", "0", subject) == re.sub(r"\d", "0", real)
    with mail_app.app_context():
        assert worker.run_once(mail_only=True) == 1  # the known address's mail only
    smtp_server.wait_for(EMAIL)
    assert [m["To"] for m in smtp_server.messages] == [EMAIL]
    assert outbox(mail_app, "nobody@example.com")[0][0] == "suppressed"
    page = mail_app.test_client().get("/_dev/mail", headers={"Host": "gatehouse.test"})
    assert "nobody@example.com" not in page.get_data(as_text=True)


def test_a_locked_account_is_treated_like_an_unknown_address(mail_app, smtp_server):
    with mail_app.app_context():
        ada = db.session.scalar(select(User).where(User.email == EMAIL))
        ada.locked_until = utcnow() + timedelta(hours=1)
        db.session.commit()
    ask(mail_app, "warm@example.com", "email_code")
    locked = ask(mail_app, EMAIL, "email_code")
    unknown = ask(mail_app, "nobody@example.com", "email_code")
    assert locked == unknown and inserted(locked) == inserted(unknown)
    assert [s for s, _ in outbox(mail_app, EMAIL)] == ["suppressed"]
    with mail_app.app_context():
        assert worker.run_once(mail_only=True) == 0
    assert smtp_server.messages == []


def test_suppressed_rows_are_pruned_like_sent_ones(mail_app):
    ask(mail_app, "nobody@example.com", "email_code")
    with mail_app.app_context():
        worker.run_once(utcnow() + timedelta(days=400))
    assert outbox(mail_app, "nobody@example.com") == []
