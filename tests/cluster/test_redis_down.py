"""Redis down (issue #16), with the README's choice per use:

* rate limits fail OPEN to per-instance counters (a log line and
  ``gatehouse_redis_failures_total{use="rate_limits"}``): sign-in and token requests keep
  working, wrong client secrets still get 401 and, per instance, 429;
* configuration sync fails SAFE: instances drop their snapshots and read PostgreSQL, so
  a change is still honoured everywhere within 1 s (``use="config_sync"``);
* lockout lives in PostgreSQL and is unaffected.
When Redis is back, limits are shared again."""

from __future__ import annotations

import time

import pytest

from tests.cluster.test_shared_state import WITHIN
from tests.cluster.test_shared_state import _client_credentials
from tests.support.cluster import wait_until
from tests.support.cluster_world import sign_in


@pytest.fixture
def redis_outage(cluster, cluster_redis):
    cluster_redis.kill()
    try:
        yield
    finally:
        cluster_redis.start()


def _metric(cluster, instance, use) -> float:
    text = cluster.get(
        "/metrics",
        None,
        base=cluster.instance_url(instance),
        headers={"Authorization": f"Bearer {cluster.env['METRICS_TOKEN']}"},
    ).text
    prefix = f'gatehouse_redis_failures_total{{use="{use}"}}'
    line = next(row for row in text.splitlines() if row.startswith(prefix))
    return float(line.rsplit(" ", 1)[1])


def test_redis_down_degrades_as_documented(cluster, ops, world, redis_outage):
    tokens, browser = sign_in(cluster, world)  # login throttles: per instance now
    assert set(browser.served_by) == {i.name for i in cluster.instances}
    assert tokens["access_token"]
    assert _client_credentials(cluster, world).status_code == 200
    # Failed client authentications are still counted, per instance: 30 at each of three
    # instances are 401, the next ones 429 (with Redis the 31st overall would be).
    answers = [_client_credentials(cluster, world, secret="wrong") for _ in range(93)]
    statuses = [a.status_code for a in answers]
    assert statuses[:31].count(401) == 31 and 500 not in statuses
    assert statuses[-3:] == [429, 429, 429]
    # Configuration: still everywhere within 1 s, read from PostgreSQL.
    from app.extensions import db
    from app.services.settings import update_settings
    from app.services.tenants import get_tenant

    with ops.app_context():
        update_settings(get_tenant(world.slug), {"access_token_ttl_seconds": 77})
        db.session.commit()
    committed = time.monotonic()
    for instance in cluster.instances:
        wait_until(
            lambda: _client_credentials(cluster, world, instance).json()["expires_in"] == 77,
            WITHIN - (time.monotonic() - committed),
            0.02,
            f"{instance.name} without Redis",
        )
    for instance in cluster.instances:
        assert _metric(cluster, instance, "rate_limits") > 0
        assert _metric(cluster, instance, "config_sync") > 0
    assert "redis unavailable for rate_limits" in cluster.logs()
    assert "Traceback" not in cluster.logs()
