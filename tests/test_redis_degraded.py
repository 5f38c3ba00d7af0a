"""Redis unreachable in one process (issue #16; tests/cluster/test_redis_down.py kills it
under a cluster): failed client authentications are still counted, per process, instead of
a 500; the failure shows on /metrics; and snapshots built while the change stream could
not be read are dropped when it can be again (a change announced meanwhile was lost)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import BASE_DOMAIN
from tests.support.oauth import basic_auth
from tests.support.oauth import make_client
from tests.support.receiver import closed_port

LIVE_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def no_redis(make_app):
    down = f"redis://127.0.0.1:{closed_port()}/0"
    return make_app(
        REDIS_URL=down, RATELIMIT_STORAGE_URI=down, CLIENT_AUTH_FAILURE_LIMIT="3 per minute"
    )


def _metric(app, use: str) -> float:
    text = app.test_client().get("/metrics", headers={"Host": BASE_DOMAIN}).get_data(as_text=True)
    line = next(
        x
        for x in text.splitlines()
        if x.startswith(f'gatehouse_redis_failures_total{{use="{use}"}}')
    )
    return float(line.rsplit(" ", 1)[1])


def test_client_auth_failures_fail_open_per_process(tenant, tenant_client, no_redis):
    # (no_redis last: Flask-Limiter keeps the storage of the app initialised last)
    service = make_client(no_redis, tenant, grant_types=["client_credentials"], redirect_uris=[])
    tc = tenant_client(tenant)
    tc.client = no_redis.test_client()
    wrong = basic_auth(service.client_id, "not-the-secret")
    statuses = [
        tc.post(
            "/oauth2/token", data={"grant_type": "client_credentials"}, headers=wrong
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    right = basic_auth(service.client_id, service.secret)
    assert (
        tc.post(
            "/oauth2/token", data={"grant_type": "client_credentials"}, headers=right
        ).status_code
        == 200
    )
    assert _metric(no_redis, "rate_limits") >= 4
    assert _metric(no_redis, "config_sync") >= 1


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(LIVE_REDIS, socket_timeout=0.5).ping())
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.skipif(not _redis_up(), reason=f"no Redis at {LIVE_REDIS}")
def test_snapshots_built_while_redis_was_away_are_dropped_when_it_returns(make_app, tenant):
    from app.tenant_cache import tenant_cache

    app = make_app(REDIS_URL=LIVE_REDIS, TENANT_SYNC="redis")
    host = f"{tenant.slug}.{BASE_DOMAIN}"
    with app.test_request_context(headers={"Host": host}):
        cache = tenant_cache()
        sync = cache.sync
        sync.redis_url, sync._redis, sync._next_check = (
            f"redis://127.0.0.1:{closed_port()}/0",
            None,
            0,
        )
        sync.maybe_check(cache)  # Redis away: every snapshot dropped
        app.test_client().get("/login", headers={"Host": host})  # rebuilt meanwhile
        assert len(cache) == 1
        sync.redis_url, sync._redis, sync._next_check = LIVE_REDIS, None, 0
        sync.maybe_check(cache)  # the stream again: what was built without it goes
        assert len(cache) == 0
