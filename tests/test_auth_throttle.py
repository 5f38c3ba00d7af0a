"""Brute-force throttling (Flask-Limiter) per client IP and per (tenant, email)."""

import os
import socket
import uuid

import pytest

from tests.support.auth import audit_actions

WRONG = "wrong password 123"


def post_login(client, email, ip="127.0.0.1"):
    token = client.csrf_token("/login")
    return client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": WRONG},
        environ_base={"REMOTE_ADDR": ip},
    )


@pytest.mark.config(LOGIN_RATE_LIMIT="100 per minute", LOGIN_ACCOUNT_RATE_LIMIT="2 per minute")
def test_login_is_throttled_per_account(app, tenant, user, tenant_client):
    client = tenant_client(tenant)
    assert post_login(client, "ada@example.com").status_code == 401
    assert post_login(client, "ADA@example.com ", ip="10.9.9.9").status_code == 401
    response = post_login(client, "ada@example.com", ip="10.8.8.8")  # new IP, same account
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    # Another account from the same IP is not affected; GETs never count.
    assert client.get("/login").status_code == 200
    assert post_login(client, "nobody@example.com").status_code == 401
    assert "login.throttled" in audit_actions(app, tenant)


@pytest.mark.config(LOGIN_RATE_LIMIT="3 per minute", LOGIN_ACCOUNT_RATE_LIMIT="100 per minute")
def test_login_is_throttled_per_ip(app, tenant, tenant_client):
    client = tenant_client(tenant)
    for n in range(3):
        assert post_login(client, f"user{n}@example.com").status_code == 401
    assert post_login(client, "user9@example.com").status_code == 429
    assert post_login(client, "user9@example.com", ip="10.0.0.7").status_code == 401


@pytest.mark.config(
    PASSWORD_RESET_RATE_LIMIT="100 per minute", PASSWORD_RESET_ACCOUNT_RATE_LIMIT="2 per hour"
)
def test_forgot_password_is_throttled_per_account(tenant, user, tenant_client):
    client = tenant_client(tenant)
    for _ in range(2):
        assert client.submit("/password/forgot", {"email": "ada@example.com"}).status_code == 200
    assert client.submit("/password/forgot", {"email": "ada@example.com"}).status_code == 429


@pytest.mark.config(SIGNUP_RATE_LIMIT="2 per minute")
def test_signup_is_throttled_per_ip(tenant, tenant_client):
    client = tenant_client(tenant)
    for n in range(2):
        data = {"email": f"new{n}@example.com", "password": "plum tractor lantern 42"}
        assert tenant_client(tenant).submit("/signup", data).status_code == 302
    data = {"email": "new9@example.com", "password": "plum tractor lantern 42"}
    assert client.submit("/signup", data).status_code == 429


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def test_throttle_counts_in_redis_across_app_instances(make_app, make_tenant, make_user):
    """Two app instances (two workers) share one Redis: the limit holds across them."""
    if not redis_reachable():
        if os.environ.get("CI"):
            pytest.fail("Redis is required in CI (127.0.0.1:6379)")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    from tests.support.http import TenantClient

    config = {
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "RATELIMIT_KEY_PREFIX": f"gh-test-{uuid.uuid4().hex}",
        "LOGIN_RATE_LIMIT": "100 per minute",
        "LOGIN_ACCOUNT_RATE_LIMIT": "3 per minute",
    }
    first = make_app(**config)
    tenant = make_tenant("acme-corp", "Acme Corp")
    make_user(tenant)
    second = make_app(**config)
    one = TenantClient(first.test_client(), "acme-corp.gatehouse.test")
    two = TenantClient(second.test_client(), "acme-corp.gatehouse.test")
    assert post_login(one, "ada@example.com").status_code == 401
    assert post_login(two, "ada@example.com").status_code == 401
    assert post_login(one, "ada@example.com").status_code == 401
    assert post_login(two, "ada@example.com").status_code == 429
    # The counters really live in Redis, under this test's prefix.
    import redis

    store = redis.Redis(host="127.0.0.1", port=6379, db=0)
    keys = store.keys(f"*{config['RATELIMIT_KEY_PREFIX']}*")
    assert keys
    store.delete(*keys)
