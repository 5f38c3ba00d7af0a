"""PostgreSQL restarted during load (issue #16). A private PostgreSQL cluster of this test
(never the shared server) is stopped and started again under load, with two instances
behind HAProxy on it.

Expected: in the window every request is answered, either normally or 503 with
``Retry-After`` (RFC 6749 JSON on /oauth2, problem+json on /v2, the styled page on hosted
pages), never a 500 or a traceback; every kind of request succeeds again within 5 s of
PostgreSQL accepting connections; and no refresh family is left half-rotated: the client's
latest refresh token still works and its family holds exactly one unused token."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy import text

from tests.cluster.conftest import control_app
from tests.support.cluster import Cluster
from tests.support.cluster import PrivatePostgres
from tests.support.cluster_world import make_world
from tests.support.cluster_world import sign_in

RECOVERY = 5.0  # seconds after PostgreSQL is back


@pytest.fixture
def private_cluster(tmp_path, cluster_redis):
    postgres = PrivatePostgres(tmp_path).init().start()
    admin = create_engine(postgres.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE gatehouse"))
    admin.dispose()
    cluster = Cluster(tmp_path, postgres.url("gatehouse"), cluster_redis.url, instances=2)
    cluster.postgres = postgres
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        postgres.destroy()


class Load:
    """Three kinds of traffic in loops, every answer kept: refresh-token rotation
    (/oauth2), an admin API read (/v2) and a signed-in hosted page (/account)."""

    def __init__(self, cluster, world, tokens, browser, admin_key):
        self.cluster, self.world, self.browser = cluster, world, browser
        self.refresh_token = tokens["refresh_token"]
        self.admin_key = admin_key
        self.answers: dict[str, list[tuple[float, requests.Response]]] = {
            "oauth": [],
            "api": [],
            "page": [],
        }
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._loop, args=(kind,)) for kind in self.answers]

    def _one(self, kind):
        if kind == "oauth":
            answer = self.cluster.post(
                "/oauth2/token",
                self.world.slug,
                timeout=10,
                auth=self.world.basic,
                data={"grant_type": "refresh_token", "refresh_token": self.refresh_token},
            )
            if answer.status_code == 200:
                self.refresh_token = answer.json()["refresh_token"]
            return answer
        if kind == "api":
            return self.cluster.get(
                f"/v2/admin/tenants/{self.world.slug}/users",
                None,
                timeout=10,
                headers={"Authorization": f"Bearer {self.admin_key}"},
            )
        return self.cluster.get("/account", self.world.slug, self.browser.session, timeout=10)

    def _loop(self, kind):
        while not self.stop.is_set():
            try:
                answer = self._one(kind)
            except requests.RequestException as exc:  # recorded: the test fails on it
                answer = exc
            self.answers[kind].append((time.monotonic(), answer))
            time.sleep(0.05)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def ok_since(self, kind, moment) -> bool:
        return any(
            at > moment and isinstance(a, requests.Response) and a.status_code == 200
            for at, a in self.answers[kind]
        )


def _check_unavailable(kind, answer):
    assert answer.status_code == 503, (kind, answer.status_code, answer.text[:500])
    assert int(answer.headers["Retry-After"]) > 0
    content_type = answer.headers["Content-Type"]
    if kind == "oauth":
        assert content_type.startswith("application/json")
        assert answer.json()["error"] == "temporarily_unavailable"
    elif kind == "api":
        assert content_type.startswith("application/problem+json")
        assert answer.json()["status"] == 503
    else:
        assert content_type.startswith("text/html")
        assert "briefly unavailable" in answer.text and "Traceback" not in answer.text


# Timing-bound on a shared 2-core machine (recovery within 5 s while other tests run):
# one retry, reported by pytest as a rerun, so a repeated failure still fails CI.
@pytest.mark.flaky(reruns=1)
def test_postgres_restart_under_load(private_cluster):
    cluster = private_cluster
    ops = control_app(cluster)
    world = make_world(ops, "restart")
    key = cluster.command("admin-key", "create")
    assert key.returncode == 0, key.stderr
    admin_key = key.stdout.strip().splitlines()[-1]
    tokens, browser = sign_in(cluster, world)

    with Load(cluster, world, tokens, browser, admin_key) as load:
        time.sleep(1.0)
        cluster.postgres.stop("fast")
        down = time.monotonic()
        time.sleep(3.0)
        cluster.postgres.start()
        back = time.monotonic()
        for kind in load.answers:
            deadline = back + RECOVERY
            while not load.ok_since(kind, back) and time.monotonic() < deadline:
                time.sleep(0.05)
        time.sleep(0.5)

    for kind, answers in load.answers.items():
        failures = [a for _, a in answers if not isinstance(a, requests.Response)]
        assert failures == [], (kind, failures[:3])
        in_window = [a for at, a in answers if down < at]
        unavailable = [a for a in in_window if a.status_code != 200]
        assert unavailable, f"{kind}: no request saw the outage"
        for answer in unavailable:
            _check_unavailable(kind, answer)
        recovered = [at for at, a in answers if at > back and a.status_code == 200]
        assert recovered and recovered[0] - back <= RECOVERY, (kind, cluster.logs(4000))
        assert answers[-1][1].status_code == 200, kind
    assert "Traceback" not in cluster.logs()

    # No half-rotated family: the client's latest token is the one unused token left.
    from app.extensions import db
    from app.models import Grant
    from app.models import RefreshToken
    from app.security.tokens import digest

    with ops.app_context():
        latest = db.session.scalar(
            db.select(RefreshToken).where(RefreshToken.token_digest == digest(load.refresh_token))
        )
        grant = db.session.get(Grant, latest.grant_id)
        family = list(db.session.scalars(db.select(RefreshToken).filter_by(grant_id=grant.id)))
        assert grant.revoked_at is None and latest.used_at is None
        assert [r.id for r in family if r.used_at is None] == [latest.id]
        db.engine.dispose()
    final = cluster.post(
        "/oauth2/token",
        world.slug,
        auth=world.basic,
        data={"grant_type": "refresh_token", "refresh_token": load.refresh_token},
    )
    assert final.status_code == 200, final.text
