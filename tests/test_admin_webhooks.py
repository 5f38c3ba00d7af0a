"""The console's webhook pages: add an endpoint (secret shown once), send a test event and
see it in the delivery log, create a user and see user.created delivered and verified."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import WebhookEndpoint
from tests.support.console import console_fixtures
from tests.support.webhook_receiver import Receiver
from tests.test_webhooks import drain

make_console = console_fixtures()


@pytest.fixture
def admin(tenant, make_console):
    return make_console(tenant, "boss@acme.example")


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def secret_in(body: str) -> str:
    return body.split('<p class="secret" tabindex="0">')[1].split("<")[0]


def test_admin_adds_an_endpoint_tests_it_and_receives_user_created(app, admin, receiver):
    added = admin.submit(
        "/admin/webhooks/new",
        {"url": receiver.url, "description": "CRM sync", "events": "user.*, webhook.test"},
    )
    body = added.get_data(as_text=True)
    assert added.status_code == 422  # webhook.test is not an event one subscribes to
    assert "unknown event type" in body

    added = admin.submit(
        "/admin/webhooks/new", {"url": receiver.url, "description": "CRM sync", "events": "user.*"}
    )
    body = added.get_data(as_text=True)
    assert added.status_code == 200 and "shown only this once" in body
    secret = secret_in(body)
    assert secret.startswith("whsec_")
    with app.app_context():
        endpoint = db.session.scalar(select(WebhookEndpoint))
    page = admin.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
    assert secret not in page and receiver.url in page
    assert receiver.url in admin.get("/admin/webhooks").get_data(as_text=True)

    show = f"/admin/webhooks/{endpoint.id}"
    queued = admin.submit(f"{show}/test", {}, form_path=show, headers={"HX-Request": "true"})
    assert queued.status_code == 200 and "Test event queued" in queued.get_data(as_text=True)
    drain(app)
    receiver.of_type("webhook.test")[0].verify(secret)
    log = admin.get(f"{show}/deliveries", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "webhook.test" in log and "succeeded" in log and "Redeliver" in log

    created = admin.submit(
        "/admin/users/new",
        {"email": "new@acme.example", "name": "New", "password": "a long enough passphrase"},
    )
    assert created.status_code in (200, 302)
    drain(app)
    (user_created,) = receiver.of_type("user.created")
    assert user_created.verify(secret)["data"]["email"] == "new@acme.example"
    assert "user.created" in admin.get(show).get_data(as_text=True)


def test_edit_disable_rotate_and_delete(app, admin, receiver):
    added = admin.submit("/admin/webhooks/new", {"url": receiver.url, "events": "*"})
    first = secret_in(added.get_data(as_text=True))
    with app.app_context():
        endpoint = db.session.scalar(select(WebhookEndpoint))
    show = f"/admin/webhooks/{endpoint.id}"
    bad = admin.submit(show, {"url": "ftp://nope", "events": "*", "enabled": "on"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    saved = admin.submit(show, {"url": receiver.url, "events": "org.*"})  # unchecked: disabled
    assert saved.status_code == 302
    with app.app_context():
        row = db.session.get(WebhookEndpoint, endpoint.id)
        assert row.enabled is False and row.events == ["org.*"]
    rotated = admin.submit(f"{show}/secret", {}, form_path=show)
    second = secret_in(rotated.get_data(as_text=True))
    assert second != first and "also signs" in rotated.get_data(as_text=True)
    assert admin.submit(f"{show}/delete", {}, form_path=show).status_code == 302
    assert admin.get(show).status_code == 404


def test_other_tenants_endpoints_are_not_found(app, admin, make_tenant, make_console, receiver):
    globex = make_tenant("globex", "Globex")
    theirs = make_console(globex, "boss@globex.example")
    theirs.submit("/admin/webhooks/new", {"url": receiver.url, "events": "*"})
    with app.app_context():
        endpoint = db.session.scalar(select(WebhookEndpoint))
    assert admin.get(f"/admin/webhooks/{endpoint.id}").status_code == 404
    assert receiver.url not in admin.get("/admin/webhooks").get_data(as_text=True)


def test_rotating_the_secret_needs_a_recent_sign_in(app, tenant, make_console, receiver):
    from datetime import timedelta

    stale = make_console(tenant, "old@acme.example", auth_age=timedelta(hours=1))
    stale.submit("/admin/webhooks/new", {"url": receiver.url, "events": "*"})
    with app.app_context():
        endpoint = db.session.scalar(select(WebhookEndpoint))
        before = endpoint.secret_encrypted
    show = f"/admin/webhooks/{endpoint.id}"
    answer = stale.submit(f"{show}/secret", {}, form_path=show)
    assert answer.status_code in (302, 303) and "/login" in answer.headers["Location"]
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint.id).secret_encrypted == before
