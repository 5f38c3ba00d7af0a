"""Mail goes through the outbox: queued in the request's transaction, sent by the worker
(real aiosmtpd), delayed — not lost — while SMTP is down; the dev viewer shows it."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

from app import worker
from app.extensions import db
from app.models import Job
from app.models import OutboxMessage
from tests.support.http import TenantClient
from tests.support.smtp import SmtpServer
from tests.support.smtp import link_in


def _rows(app, model=OutboxMessage):
    with app.app_context():
        return db.session.scalars(db.select(model).order_by(model.id)).all()


def test_mail_waits_for_smtp_and_is_delivered_when_it_comes_back(make_app, tenant, user):
    server = SmtpServer()  # its port is chosen, nothing listens yet: SMTP is down
    app = make_app(SMTP_URL=server.url)
    browser = TenantClient(app.test_client(), "acme-corp.gatehouse.test")
    answer = browser.submit("/password/forgot", {"email": "ada@example.com"})
    assert answer.status_code == 200
    (queued,) = _rows(app)
    assert queued.status == "pending" and queued.attempts == 1 and queued.last_error
    server.start()
    try:
        with app.app_context():
            assert worker.run_once(mail_only=True) == 0  # not due yet: backing off
            assert worker.run_once(datetime.now(UTC) + timedelta(hours=1), mail_only=True) == 1
        message = server.wait_for("ada@example.com", subject_contains="Reset")
        assert "/password/reset/" in link_in(message)
    finally:
        server.stop()
    (sent,) = _rows(app)
    assert sent.status == "sent" and sent.sent_at and sent.body_text == ""


def test_requests_only_queue_mail_and_the_worker_sends_it(make_app, tenant, user, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url, OUTBOX_DRAIN_ON_COMMIT=False)
    for email in ("ada@example.com", "nobody@example.com"):
        browser = TenantClient(app.test_client(), "acme-corp.gatehouse.test")
        assert browser.submit("/password/forgot", {"email": email}).status_code == 200
    assert smtp_server.messages == []  # nothing is sent inside a request
    # Known or not, a request queued the same job; only the worker looks the address up.
    jobs = [(j.kind, j.args["email"], j.status) for j in _rows(app, Job)]
    assert jobs == [
        ("password_reset", "ada@example.com", "pending"),
        ("password_reset", "nobody@example.com", "pending"),
    ]
    assert _rows(app) == []
    with app.app_context():
        assert worker.run_once(mail_only=True) == 3  # two jobs; one queued a mail, sent
    assert smtp_server.wait_for("ada@example.com")
    assert [m["To"] for m in smtp_server.messages] == ["ada@example.com"]


def test_a_rolled_back_change_sends_no_mail(app, tenant, smtp_server):
    from app.services import invitations

    with app.app_context():
        invitations.create_invitation(db.session.merge(tenant), "eve@example.com", roles=[])
        db.session.rollback()
        assert worker.run_once(mail_only=True) == 0
    assert _rows(app) == [] and smtp_server.messages == []


def test_dev_mail_viewer_lists_mail_with_links(app, client, tenant, user):
    browser = TenantClient(app.test_client(), "acme-corp.gatehouse.test")
    browser.submit("/password/forgot", {"email": "ada@example.com"})
    page = client.get("/_dev/mail", headers={"Host": "gatehouse.test"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert (
        "ada@example.com" in html
        and '<a href="http://acme-corp.gatehouse.test/password/reset/' in html
    )
    # Only on the base host, and never in production.
    assert client.get("/_dev/mail", headers={"Host": "acme-corp.gatehouse.test"}).status_code == 404


def test_dev_mail_viewer_is_off_in_production(app, make_app):
    production = make_app(PRODUCTION=True, GATEHOUSE_ENV="production", DEV_MAIL_VIEWER=False)
    response = production.test_client().get("/_dev/mail", headers={"Host": "gatehouse.test"})
    assert response.status_code == 404
