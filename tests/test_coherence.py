"""Tenant configuration is coherent across processes (issue #15): two gunicorn instances
(two workers each) on the test database, with and without Redis. Each configuration
change — made by a third process, this one — is refused or applied by every instance
within 1 s: suspending a tenant, disabling / rotating / deleting a client, rotating keys,
changing settings and the MFA policy.

Without Redis the instances poll the tenants' configuration versions (PostgreSQL, or two
processes on one SQLite file); with ``REDIS_URL`` they read the change stream.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import jwt
import pytest

from tests.conftest import BASE_DOMAIN
from tests.conftest import DEFAULT_PASSWORD
from tests.conftest import TEST_CONFIG
from tests.support.http import csrf_from

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WITHIN = 1.0  # seconds
STREAK = 5  # consecutive requests to an instance that must agree (both workers answer)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=0.5).ping())
    except Exception:  # noqa: BLE001
        return False


class Instance:
    """``gunicorn wsgi:app`` with two workers, on the test database."""

    def __init__(self, database_url: str, tmp_path: Path, redis_url: str | None):
        self.port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": TEST_CONFIG["SECRET_KEY"],
            "BASE_DOMAIN": BASE_DOMAIN,
            "URL_SCHEME": "http",
            "LOG_LEVEL": "WARNING",
            "REDIS_URL": redis_url or "",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "8",
            # Every refused request here comes from 127.0.0.1: not a brute force.
            "CLIENT_AUTH_FAILURE_LIMIT": "100000 per minute",
            "LOGIN_RATE_LIMIT": "100000 per minute",
            "LOGIN_ACCOUNT_RATE_LIMIT": "100000 per minute",
        }
        self.log = open(tmp_path / f"gunicorn-{self.port}.log", "wb")  # noqa: SIM115
        bin_dir = Path(sys.executable).parent
        self.process = subprocess.Popen(
            [str(bin_dir / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{self.port}", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def request(self, method, path, *, host, data=None, headers=None, cookies=None):
        """(status, headers, body) without following redirects."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, method=method
        )
        req.add_header("Host", host)
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        if cookies:
            req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(req, timeout=10) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _basic(client_id, secret) -> dict:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture(params=["poll", "redis"])
def mode(request):
    if request.param == "redis" and not _redis_up():
        if os.environ.get("CI"):
            pytest.fail("Redis is required in CI")
        pytest.skip("Redis is not running")
    return request.param


@pytest.fixture
def instances(mode, database_url, tmp_path):
    redis_url = REDIS_URL if mode == "redis" else None
    started = [Instance(database_url, tmp_path, redis_url) for _ in range(2)]
    yield started
    for instance in started:
        instance.stop()


@pytest.fixture
def changer(mode, make_app):
    """This process, making the changes (publishing them too when Redis is used)."""
    from app.extensions import db

    if mode == "redis":
        application = make_app(REDIS_URL=REDIS_URL, TENANT_SYNC="redis")
    else:
        application = make_app()
    yield application
    with application.app_context():
        db.session.remove()


def _within(instances, check, what: str) -> None:
    """Every instance passes ``check(instance)`` from at most 1 s after the change on, for
    several requests in a row (so both of its workers did)."""
    started = time.monotonic()
    streak_since = {id(i): None for i in instances}
    streak = {id(i): 0 for i in instances}
    # The deadline only bounds a slow machine; the 1 s rule is on when the streak began.
    while time.monotonic() - started < 30 and min(streak.values()) < STREAK:
        for instance in instances:
            key = id(instance)
            asked = time.monotonic() - started  # when the request left, not when it ended
            if check(instance):
                if streak[key] == 0:
                    streak_since[key] = asked
                streak[key] += 1
            else:
                streak[key] = 0
        time.sleep(0.01)
    for instance in instances:
        key = id(instance)
        assert streak[key] >= STREAK, f"{what}: never consistently seen"
        assert streak_since[key] <= WITHIN, f"{what}: seen after {streak_since[key]:.2f}s"


# One retry: the 1 s bound is measured on a shared 2-core machine where two whole suites may
# run beside it (it failed once at 1.76 s so, and passes alone); a repeated miss still fails.
@pytest.mark.flaky(reruns=1)
def test_configuration_changes_reach_every_instance_within_a_second(
    app, changer, instances, make_tenant, make_user
):
    from app.extensions import db
    from app.services import clients
    from app.services import keys
    from app.services import tenants
    from app.services.settings import update_settings

    tenant = make_tenant("coherent")
    user = make_user(tenant, "grace@example.com")
    host = f"coherent.{BASE_DOMAIN}"

    def new_service():
        with changer.app_context():
            row, secret = clients.create_client(
                tenant,
                {
                    "client_name": "svc",
                    "grant_types": ["client_credentials"],
                    "redirect_uris": [],
                    "scope": "openid",
                },
            )
            db.session.commit()
            return row.id, secret

    def grant(instance, client_id, secret):
        status, _headers, body = instance.request(
            "POST",
            "/oauth2/token",
            host=host,
            data={"grant_type": "client_credentials"},
            headers=_basic(client_id, secret),
        )
        return status, body

    def change(fn):
        with changer.app_context():
            fn()
            db.session.commit()

    a_id, a_secret = new_service()
    for instance in instances:  # warm every worker: keys, snapshot, client
        for _ in range(6):
            assert grant(instance, a_id, a_secret)[0] == 200

    # 1. Rotating a client's secret: the old one is refused, the new one works.
    new_secret = {}

    def rotate():
        new_secret["value"] = clients.rotate_client_secret(tenant, clients.get_client(tenant, a_id))

    change(rotate)
    _within(instances, lambda i: grant(i, a_id, a_secret)[0] == 401, "rotated secret")
    _within(instances, lambda i: grant(i, a_id, new_secret["value"])[0] == 200, "new secret")

    # 2. Disabling a client.
    change(lambda: setattr(clients.get_client(tenant, a_id), "disabled", True))
    _within(instances, lambda i: grant(i, a_id, new_secret["value"])[0] == 401, "disabled")

    # 3. Deleting a client.
    b_id, b_secret = new_service()
    _within(instances, lambda i: grant(i, b_id, b_secret)[0] == 200, "new client")
    change(lambda: clients.delete_client(tenant, clients.get_client(tenant, b_id)))
    _within(instances, lambda i: grant(i, b_id, b_secret)[0] == 401, "deleted client")

    # 4. Settings: the access-token lifetime.
    c_id, c_secret = new_service()
    _within(instances, lambda i: grant(i, c_id, c_secret)[0] == 200, "new client")
    change(lambda: update_settings(db.session.merge(tenant), {"access_token_ttl_seconds": 900}))

    def ttl_is_900(instance):
        status, body = grant(instance, c_id, c_secret)
        return status == 200 and b'"expires_in":900' in body.replace(b" ", b"")

    _within(instances, ttl_is_900, "settings")

    # 5. Rotating keys: tokens are signed with the new active key.
    def kid_of(instance):
        status, body = grant(instance, c_id, c_secret)
        assert status == 200
        import json

        return jwt.get_unverified_header(json.loads(body)["access_token"])["kid"]

    old_kid = kid_of(instances[0])
    change(lambda: keys.rotate_keys(db.session.merge(tenant)))
    _within(instances, lambda i: kid_of(i) != old_kid, "key rotation")

    # 6. MFA policy: a password sign-in now has to set up a second factor.
    def signs_in_without_mfa(instance):
        status, headers, body = instance.request("GET", "/login", host=host)
        cookies = _cookies(headers)
        token = csrf_from(body.decode())
        status, headers, _ = instance.request(
            "POST",
            "/login",
            host=host,
            data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": token},
            cookies=cookies,
        )
        assert status in (302, 303), status
        return "/mfa" not in headers["Location"]

    assert all(signs_in_without_mfa(i) for i in instances)
    change(lambda: update_settings(db.session.merge(tenant), {"mfa_policy": "required"}))
    _within(instances, lambda i: not signs_in_without_mfa(i), "MFA policy")

    # 7. Suspending the tenant: its token endpoint refuses at once.
    change(lambda: tenants.set_status(db.session.merge(tenant), "suspended"))
    _within(instances, lambda i: grant(i, c_id, c_secret)[0] == 403, "suspension")


def _cookies(headers) -> dict:
    jar = {}
    for value in headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return jar
