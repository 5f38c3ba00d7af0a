"""Quota tests: app instances sharing the real Redis under a key prefix of their own."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_or_skip() -> None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return
    except OSError:
        if os.environ.get("CI"):
            pytest.fail("Redis is required in CI (127.0.0.1:6379)")
        pytest.skip("Redis is not running on 127.0.0.1:6379")


def shared_redis_config() -> dict:
    """Config for app instances that share Redis (and nothing with other tests)."""
    return {
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_STORAGE_URI": "memory://",
        "QUOTA_KEY_PREFIX": f"gh-test-{uuid.uuid4().hex}:",
        "USAGE_PUSH_INTERVAL": 0,  # every count reaches Redis at once
        "TENANT_SYNC_INTERVAL": 0,
    }


def drop_keys(prefix: str) -> None:
    import redis

    store = redis.Redis.from_url(REDIS_URL)
    keys = list(store.scan_iter(f"{prefix}*"))
    if keys:
        store.delete(*keys)


def set_quotas(app, tenant, **quotas) -> dict:
    """The tenant's quotas, set through the admin API; the tenant's JSON."""
    from tests.support.api import Api
    from tests.support.api import create_admin_key

    response = Api(app, create_admin_key(app)).patch(
        f"/tenants/{tenant.slug}", json={"quotas": quotas}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()
