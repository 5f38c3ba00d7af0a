"""State that must be one across instances: rate limits and lockout (Redis, PostgreSQL),
configuration changes (every instance within 1 s), and signing keys rotated under load."""

from __future__ import annotations

import threading
import time

import jwt
import requests

from tests.support.cluster import wait_until
from tests.support.cluster_world import Browser
from tests.support.cluster_world import submit_login

WITHIN = 1.0  # seconds: a configuration change reaches every instance in this time


def _client_credentials(cluster, world, instance=None, secret=None):
    return cluster.post(
        "/oauth2/token",
        world.slug,
        base=cluster.instance_url(instance) if instance else None,
        data={"grant_type": "client_credentials"},
        auth=(world.client_id, secret or world.client_secret),
    )


def test_client_auth_failure_limit_is_shared(cluster, world):
    # 30 failures per minute per tenant and client address, counted in Redis: spread
    # over three instances (about 10 each), the 31st is refused wherever it lands.
    answers = [_client_credentials(cluster, world, secret="wrong") for _ in range(31)]
    assert {a.headers["X-Served-By"] for a in answers} == {i.name for i in cluster.instances}
    assert [a.status_code for a in answers[:30]] == [401] * 30
    assert answers[30].status_code == 429 and int(answers[30].headers["Retry-After"]) > 0
    # A correct secret is never refused.
    assert _client_credentials(cluster, world).status_code == 200


def test_lockout_is_shared(cluster, ops, world):
    from app.extensions import db
    from app.services.settings import update_settings
    from app.services.tenants import get_tenant

    with ops.app_context():
        update_settings(get_tenant(world.slug), {"lockout_threshold": 3})
        db.session.commit()
    browser = Browser(cluster, world.slug)
    wrong = type(world)(**{**world.__dict__, "password": "not the password"})
    # Three wrong passwords, each on another instance: the third locks the account.
    statuses = [submit_login(browser, wrong, browser.get("/login")).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    # The right password, on the next instances: the lock is in the shared database.
    for _ in range(2):
        locked = submit_login(browser, world, browser.get("/login"))
        assert locked.status_code == 429, "a locked account signed in"
        assert "Too many failed attempts" in locked.text
    assert len(set(browser.served_by)) == 3, browser.served_by
    with ops.app_context():
        from app.models import User

        assert db.session.get(User, world.user_id).locked_until is not None


def test_configuration_change_reaches_every_instance_within_a_second(cluster, ops, world):
    from app.extensions import db
    from app.services.settings import update_settings
    from app.services.tenants import get_tenant

    for instance in cluster.instances:  # every instance holds the tenant's snapshot
        assert _client_credentials(cluster, world, instance).json()["expires_in"] == 600
    with ops.app_context():
        update_settings(get_tenant(world.slug), {"access_token_ttl_seconds": 123})
        db.session.commit()
    committed = time.monotonic()
    for instance in cluster.instances:
        wait_until(
            lambda: _client_credentials(cluster, world, instance).json()["expires_in"] == 123,
            WITHIN - (time.monotonic() - committed),
            0.02,
            f"{instance.name} to apply the new token lifetime",
        )


def test_key_rotation_under_load_every_token_verifies(cluster, world):
    tokens: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def load():
        with requests.Session() as session:
            while not stop.is_set():
                answer = cluster.post(
                    "/oauth2/token",
                    world.slug,
                    session,
                    data={"grant_type": "client_credentials"},
                    auth=world.basic,
                )
                if answer.status_code == 200:
                    tokens.append(answer.json()["access_token"])
                else:
                    failures.append(f"{answer.status_code} {answer.text[:200]}")

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(tokens) > 20, 30, what="tokens before the rotation")
    before = len(tokens)
    for _ in range(2):
        rotated = cluster.command("keys", "rotate", world.slug)
        assert rotated.returncode == 0, rotated.stdout + rotated.stderr
        wait_until(lambda n=len(tokens): len(tokens) > n + 20, 30, what="tokens after rotation")
    stop.set()
    for thread in threads:
        thread.join(30)
    assert failures == []
    # A resource server fetches the JWKS afterwards, once, and verifies everything.
    jwks = cluster.get("/.well-known/jwks.json", world.slug).json()
    keys = {k["kid"]: jwt.PyJWK(k) for k in jwks["keys"]}
    kids = set()
    for token in tokens:
        kid = jwt.get_unverified_header(token)["kid"]
        kids.add(kid)
        jwt.decode(
            token,
            keys[kid],
            algorithms=["ES256"],
            audience=world.client_id,
            issuer=cluster.issuer(world.slug),
        )
    assert len(kids) >= 2 and before > 0, kids  # tokens from before and after the rotation
