"""Events and signed webhooks, end to end: admin API → outbox → worker → a real HTTP
receiver on loopback that verifies signatures with the standardwebhooks package."""

from __future__ import annotations

import time
from datetime import UTC
from datetime import datetime

import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from app import worker
from app.extensions import db
from app.models import Event
from app.models import OutboxMessage
from app.models import WebhookDelivery
from app.models import WebhookEndpoint
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of
from tests.support.webhook_receiver import Receiver

FAST = {"WEBHOOK_RETRY_BASE_SECONDS": 0.02, "EVENTS_POLL_SETTLE_SECONDS": 0}


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app, None))


def add_endpoint(api, url, slug="acme-corp", events=("*",)) -> dict:
    response = api.post(f"/tenants/{slug}/webhooks", json={"url": url, "events": list(events)})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["secret"].startswith("whsec_")
    return body


def drain(app, until=None, timeout: float = 10.0) -> None:
    """Run worker passes (the real code) until ``until()`` holds, or until idle."""
    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            handled = worker.run_once()
            if until is None and not handled:
                return
            if until is not None and until():
                return
            time.sleep(0.02)
    if until is not None:
        raise AssertionError("the worker did not get there in time")


def test_created_user_arrives_signed_and_verifies(app, api, receiver):
    endpoint = add_endpoint(api, receiver.url, events=["user.*"])
    response = api.post(
        "/tenants/acme-corp/users",
        json={"email": "grace@example.com", "name": "Grace", "password": "a long passphrase 42"},
    )
    assert response.status_code == 201
    drain(app)
    (received,) = receiver.of_type("user.created")
    body = received.verify(endpoint["secret"])
    assert set(body) == {"id", "type", "timestamp", "tenant_id", "data"}
    assert body["id"] == received.webhook_id and body["id"].startswith("ev_")
    assert body["data"]["email"] == "grace@example.com"
    assert body["data"]["roles"] == ["member"]
    raw = received.body.decode()
    assert "a long passphrase 42" not in raw and "$argon2" not in raw
    assert body["data"]["has_password"] is True
    assert received.headers["webhook-signature"].startswith("v1,")
    with pytest.raises(WebhookVerificationError):
        received.verify("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=")
    log = api.get(f"/tenants/acme-corp/webhooks/{endpoint['id']}/deliveries").get_json()
    entry = next(d for d in log["items"] if d["event_type"] == "user.created")
    assert entry["status"] == "succeeded" and entry["attempts"] == 1
    assert entry["response_status"] == 200 and "test receiver" in entry["response_body"]
    assert entry["latency_ms"] is not None


@pytest.mark.config(**FAST)
def test_a_receiver_failing_twice_gets_the_third_delivery(app, api, receiver):
    receiver.statuses = [500, 500]
    endpoint = add_endpoint(api, receiver.url, events=["org.created"])
    assert (
        api.post("/tenants/acme-corp/orgs", json={"name": "Blue", "slug": "blue"}).status_code
        == 201
    )
    drain(app, until=lambda: len(receiver.requests) >= 3)
    first, second, third = receiver.requests[:3]
    assert first.webhook_id == second.webhook_id == third.webhook_id
    third.verify(endpoint["secret"])
    with app.app_context():
        delivery = db.session.scalar(db.select(WebhookDelivery))
        assert (delivery.status, delivery.attempts, delivery.response_status) == (
            "succeeded",
            3,
            200,
        )
        assert db.session.get(WebhookEndpoint, endpoint["id"]).failing_since is None


def test_a_rolled_back_change_sends_nothing(app, api, receiver, tenant):
    from app.services import users

    add_endpoint(api, receiver.url)
    with app.app_context():
        users.create_user(db.session.merge(tenant), "ghost@example.com", name="Ghost")
        db.session.rollback()
    # A request that fails half-way (a duplicate email) rolls back at the edge too.
    api.post("/tenants/acme-corp/users", json={"email": "dup@example.com"})
    assert (
        api.post("/tenants/acme-corp/users", json={"email": "dup@example.com"}).status_code == 409
    )
    drain(app)
    emails = [r.json["data"].get("email") for r in receiver.of_type("user.created")]
    assert emails == ["dup@example.com"]
    with app.app_context():
        types = [e.type for e in db.session.scalars(db.select(Event).order_by(Event.id))]
    assert types.count("user.created") == 1


def test_tenants_only_receive_their_own_events(app, api, make_tenant, make_user):
    make_tenant("globex", "Globex")
    a, b = Receiver().start(), Receiver().start()
    try:
        add_endpoint(api, a.url, "acme-corp")
        add_endpoint(api, b.url, "globex")
        for slug in ("acme-corp", "globex"):
            api.post(f"/tenants/{slug}/users", json={"email": f"u@{slug}.example"})
            api.post(f"/tenants/{slug}/orgs", json={"name": "Team", "slug": "team"})
        drain(app)
        with app.app_context():
            from app.services.tenants import get_tenant

            ids = {slug: get_tenant(slug).id for slug in ("acme-corp", "globex")}
        assert a.requests and b.requests
        assert {r.json["tenant_id"] for r in a.requests} == {ids["acme-corp"]}
        assert {r.json["tenant_id"] for r in b.requests} == {ids["globex"]}
        assert {r.json["data"]["email"] for r in b.of_type("user.created")} == {"u@globex.example"}
    finally:
        a.stop()
        b.stop()
    # A tenant key cannot see another tenant's webhooks.
    other = Api(app, create_admin_key(app, _tenant(app, "globex")))
    assert other.get("/tenants/acme-corp/webhooks").status_code == 404


def _tenant(app, slug):
    from app.services.tenants import get_tenant

    with app.app_context():
        return get_tenant(slug)


def test_instance_endpoints_receive_tenant_events(app, api, receiver):
    endpoint = add_endpoint(api, receiver.url, "system", events=["tenant.*"])
    created = api.post(
        "/tenants", json={"name": "Initech", "slug": "initech", "owner_email": "o@initech.example"}
    )
    assert created.status_code == 201
    assert api.patch("/tenants/initech", json={"status": "suspended"}).status_code == 200
    drain(app)
    types = [(r.json["type"], r.json["data"]["slug"]) for r in receiver.requests]
    assert types == [("tenant.created", "initech"), ("tenant.suspended", "initech")]
    for received in receiver.requests:
        assert received.verify(endpoint["secret"])["data"]["slug"] == "initech"


def test_test_event_redelivery_and_secret_rotation(app, api, receiver):
    endpoint = add_endpoint(api, receiver.url, events=["user.created"])
    base = f"/tenants/acme-corp/webhooks/{endpoint['id']}"
    queued = api.post(f"{base}/test")
    assert queued.status_code == 202 and queued.get_json()["event_type"] == "webhook.test"
    drain(app)
    (test_event,) = receiver.of_type("webhook.test")
    test_event.verify(endpoint["secret"])

    delivery_id = queued.get_json()["id"]
    assert api.post(f"{base}/deliveries/{delivery_id}/redeliver").status_code == 202
    drain(app)
    again = receiver.of_type("webhook.test")
    assert len(again) == 2 and again[1].webhook_id == again[0].webhook_id

    rotated = api.post(f"{base}/secret", json={"overlap_seconds": 3600}).get_json()
    assert rotated["secret"] != endpoint["secret"] and rotated["secret_overlap_until"]
    api.post(f"{base}/test")
    drain(app)
    latest = receiver.of_type("webhook.test")[-1]
    assert len(latest.headers["webhook-signature"].split(" ")) == 2
    latest.verify(rotated["secret"])
    latest.verify(endpoint["secret"])  # the old one still verifies during the overlap
    api.post(f"{base}/secret", json={"overlap_seconds": 0})
    api.post(f"{base}/test")
    drain(app)
    with pytest.raises(WebhookVerificationError):
        receiver.of_type("webhook.test")[-1].verify(rotated["secret"])

    missing = api.post(f"{base}/deliveries/dlv_nope/redeliver")
    assert missing.status_code == 404 and problem_of(missing)["status"] == 404


@pytest.mark.config(WEBHOOK_RETRY_WINDOW_SECONDS=0, WEBHOOK_DISABLE_AFTER_SECONDS=0, **FAST)
def test_an_endpoint_that_keeps_failing_is_disabled_and_admins_are_mailed(
    app, api, receiver, tenant, make_user
):
    make_user(tenant, "boss@example.com", roles=("admin",))
    receiver.statuses = [503] * 5
    endpoint = add_endpoint(api, receiver.url, events=["org.*"])
    api.post("/tenants/acme-corp/orgs", json={"name": "Red", "slug": "red"})
    drain(app)
    shown = api.get(f"/tenants/acme-corp/webhooks/{endpoint['id']}").get_json()
    assert shown["enabled"] is False and "kept failing" in shown["disabled_reason"]
    with app.app_context():
        mail = db.session.scalars(
            db.select(OutboxMessage).where(OutboxMessage.to == "boss@example.com")
        ).all()
    assert any("disabled" in m.subject for m in mail)
    # Redelivery waits for the endpoint to be enabled again; enabling clears the failure.
    log = api.get(f"/tenants/acme-corp/webhooks/{endpoint['id']}/deliveries").get_json()
    dlv = log["items"][0]
    assert dlv["status"] == "failed" and dlv["response_status"] == 503
    base = f"/tenants/acme-corp/webhooks/{endpoint['id']}"
    assert api.post(f"{base}/deliveries/{dlv['id']}/redeliver").status_code == 409
    assert api.patch(base, json={"enabled": True}).get_json()["disabled_reason"] is None


def test_private_urls_are_refused_at_save_and_at_delivery(make_app, app, api, receiver):
    strict = make_app(OUTBOUND_ALLOW_PRIVATE=False)
    strict_api = Api(strict, create_admin_key(strict, None))
    refused = strict_api.post("/tenants/acme-corp/webhooks", json={"url": receiver.url})
    assert refused.status_code == 400
    assert "public address" in problem_of(refused)["errors"]["url"]
    for bad in ("ftp://example.com/x", "http://user:pw@example.com/", "not a url"):
        assert strict_api.post("/tenants/acme-corp/webhooks", json={"url": bad}).status_code == 400
    # Saved while allowed (development), delivered under the production rule: refused.
    add_endpoint(api, receiver.url)
    api.post("/tenants/acme-corp/orgs", json={"name": "Green", "slug": "green"})
    drain(strict)
    assert receiver.requests == []
    with strict.app_context():
        delivery = db.session.scalar(db.select(WebhookDelivery))
        assert delivery.error == "private_address" and delivery.status == "pending"


def test_bad_input_is_a_clear_problem(api):
    bad = api.post(
        "/tenants/acme-corp/webhooks", json={"url": "http://x.test/", "events": ["nope"]}
    )
    assert bad.status_code == 400 and "events" in problem_of(bad)["errors"]
    assert api.post("/tenants/acme-corp/webhooks", json={"events": ["*"]}).status_code == 400
    assert api.get("/tenants/acme-corp/webhooks/wh_missing").status_code == 404
    assert api.get("/tenants/acme-corp/events?cursor=%%%").status_code == 400


@pytest.mark.config(**FAST)
def test_events_can_be_polled_by_cursor(app, api):
    for n in range(3):
        api.post("/tenants/acme-corp/users", json={"email": f"p{n}@example.com"})
    first = api.get("/tenants/acme-corp/events?type=user.*&limit=2").get_json()
    assert [e["type"] for e in first["items"]] == ["user.created", "user.created"]
    assert first["has_more"] is True
    rest = api.get(f"/tenants/acme-corp/events?type=user.*&cursor={first['next_cursor']}")
    rest = rest.get_json()
    emails = [e["data"]["email"] for e in first["items"] + rest["items"]]
    assert emails == ["p0@example.com", "p1@example.com", "p2@example.com"]
    assert rest["has_more"] is False and rest["next_cursor"]
    # At the end the cursor stays usable: later events show up after it.
    api.post("/tenants/acme-corp/users", json={"email": "p3@example.com"})
    later = api.get(f"/tenants/acme-corp/events?cursor={rest['next_cursor']}").get_json()
    assert [e["data"]["email"] for e in later["items"]] == ["p3@example.com"]


def _metric(client, name: str, queue: str) -> float:
    text = client.get("/metrics", headers={"Host": "gatehouse.test"}).get_data(as_text=True)
    line = next(x for x in text.splitlines() if x.startswith(f'{name}{{queue="{queue}"}} '))
    return float(line.split()[-1])


def test_metrics_show_queue_depth_and_age(app, api, client, receiver):
    add_endpoint(api, receiver.url)
    api.post("/tenants/acme-corp/users", json={"email": "m@example.com"})
    assert _metric(client, "gatehouse_queue_depth", "events") >= 1
    time.sleep(0.3)
    assert _metric(client, "gatehouse_queue_oldest_pending_age_seconds", "events") >= 0.3
    with app.app_context():
        from app.worker import webhooks as worker_webhooks

        worker_webhooks.fan_out(db.session, datetime.now(UTC))
    assert _metric(client, "gatehouse_queue_depth", "webhooks") >= 1
    drain(app)
    for queue in ("events", "webhooks"):
        assert _metric(client, "gatehouse_queue_depth", queue) == 0
        assert _metric(client, "gatehouse_queue_oldest_pending_age_seconds", queue) == 0


def test_finished_work_older_than_the_retention_is_pruned(app, api, receiver):
    from datetime import timedelta

    from app.worker import prune

    add_endpoint(api, receiver.url)
    api.post("/tenants/acme-corp/users", json={"email": "old@example.com"})
    drain(app)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(WebhookDelivery)) >= 1
        later = datetime.now(UTC) + timedelta(days=31)
        prune._last_run.clear()
        assert prune.prune(db.session, later) >= 2
        assert db.session.scalar(db.select(db.func.count()).select_from(WebhookDelivery)) == 0
        assert db.session.scalar(db.select(db.func.count()).select_from(Event)) == 0
