"""SMTP down (issue #16): a request through the cluster that sends mail gets its normal
answer (it only queues the message in its own transaction); `gatehouse worker` fails to
deliver and keeps the message for a retry; once SMTP is back the next pass delivers it."""

from __future__ import annotations

import time

from tests.support.cluster_world import Browser
from tests.support.http import csrf_from
from tests.support.smtp import SmtpServer


def test_mail_is_retried_after_smtp_comes_back(cluster, ops, world):
    smtp = SmtpServer()  # its port is chosen; nothing listens yet: SMTP is down
    worker_env = {"SMTP_URL": smtp.url, "MAIL_RETRY_BASE_SECONDS": "0.01"}
    browser = Browser(cluster, world.slug)
    page = browser.get("/password/forgot")
    answer = browser.post(
        "/password/forgot", data={"email": world.email, "csrf_token": csrf_from(page.text)}
    )
    assert answer.status_code in (200, 303), answer.text[:300]
    assert "Traceback" not in answer.text

    from app.extensions import db
    from app.models import OutboxMessage

    def queued():
        with ops.app_context():
            return db.session.scalars(
                db.select(OutboxMessage).where(OutboxMessage.tenant_id == world.tenant_id)
            ).all()

    for _ in range(2):  # the job finds the address and queues the mail; the mail fails
        passed = cluster.command("worker", "--once", env=worker_env)
        assert passed.returncode == 0, passed.stdout + passed.stderr
        time.sleep(0.1)
    (message,) = queued()
    assert message.sent_at is None and message.attempts >= 1 and message.last_error
    smtp.start()
    try:
        time.sleep(0.1)
        passed = cluster.command("worker", "--once", env=worker_env)
        assert passed.returncode == 0, passed.stdout + passed.stderr
        delivered = smtp.wait_for(world.email)
        assert "/password/reset/" in delivered.get_body(("plain",)).get_content()
    finally:
        smtp.stop()
    (message,) = queued()
    assert message.sent_at is not None
