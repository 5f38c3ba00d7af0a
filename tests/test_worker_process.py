"""`gatehouse worker` as a real process: killed (SIGKILL) mid-delivery, a restarted worker
delivers again with the same webhook-id; two workers never send one delivery twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.extensions import db
from app.models import WebhookDelivery
from tests.conftest import TEST_CONFIG
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.webhook_receiver import Receiver

GATEHOUSE = str(Path(sys.executable).with_name("gatehouse"))


def start_worker(app, **env) -> subprocess.Popen:
    environment = {
        **os.environ,
        "GATEHOUSE_ENV": "development",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": TEST_CONFIG["SECRET_KEY"],
        "BASE_DOMAIN": TEST_CONFIG["BASE_DOMAIN"],
        "OUTBOUND_ALLOW_PRIVATE": "true",
        "SMTP_URL": "",
        **env,
    }
    return subprocess.Popen(
        [GATEHOUSE, "worker", "--idle", "0.1"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def test_a_worker_killed_mid_delivery_redelivers_after_restart(app, tenant, receiver):
    api = Api(app, create_admin_key(app, tenant))
    secret = api.post("/tenants/acme-corp/webhooks", json={"url": receiver.url}).get_json()
    receiver.hang_next = 1  # the first request is held open: the worker is mid-delivery
    receiver.hold.clear()
    api.post("/tenants/acme-corp/orgs", json={"name": "Blue", "slug": "blue"})

    first = start_worker(app, WORKER_LEASE_SECONDS="2")
    try:
        receiver.wait_for(1, timeout=30)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        stop(first)
    receiver.hold.set()

    second = start_worker(app, WORKER_LEASE_SECONDS="2")
    try:
        requests = receiver.wait_for(2, timeout=30)
    finally:
        stop(second)
    assert requests[0].webhook_id == requests[1].webhook_id
    assert requests[1].verify(secret["secret"])["type"] == "org.created"
    with app.app_context():
        delivery = db.session.scalar(db.select(WebhookDelivery))
        assert delivery.status == "succeeded" and delivery.attempts == 1


def test_two_workers_share_the_queue_without_sending_twice(app, tenant, receiver):
    api = Api(app, create_admin_key(app, tenant))
    api.post("/tenants/acme-corp/webhooks", json={"url": receiver.url, "events": ["org.created"]})
    for n in range(12):
        api.post("/tenants/acme-corp/orgs", json={"name": f"Team {n}", "slug": f"team-{n}"})
    workers = [start_worker(app), start_worker(app)]
    try:
        receiver.wait_for(12, timeout=60)
        time.sleep(1.0)  # anything sent twice would have arrived by now
    finally:
        for process in workers:
            stop(process)
    ids = [r.webhook_id for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 12
