"""The cluster suite (issue #16): Gatehouse instances under the production server behind
HAProxy, on one PostgreSQL database and one Redis. PostgreSQL only: several processes on
one SQLite file is not a supported deployment, so on SQLite the suite is skipped.

Each test process (xdist worker) that runs cluster tests starts one cluster for them
(grouping them on one worker with ``--dist loadgroup`` is silently ignored by the pytest
and pytest-xdist versions installed here, pytest-xdist#1386); each test makes its own
tenant, so tests never see each other's rows.
"""

from __future__ import annotations

import itertools
import shutil
import uuid

import pytest

from app import create_app
from app.extensions import db
from tests.support.cluster import HAPROXY
from tests.support.cluster import SECRET
from tests.support.cluster import Cluster
from tests.support.cluster import PrivateRedis
from tests.support.database import create_test_database
from tests.support.database import is_postgres

PASSWORD = "cluster horse battery staple"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/cluster/" in str(item.fspath).replace("\\", "/"):
            if not is_postgres():
                item.add_marker(
                    pytest.mark.skip(
                        reason="cluster suite needs PostgreSQL (DATABASE_URL=postgresql+…): "
                        "N instances on one SQLite file is not a supported deployment"
                    )
                )
            elif not shutil.which(HAPROXY):
                item.add_marker(pytest.mark.skip(reason="haproxy is not installed"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed cluster test shows the instances' last tracebacks: a 500 seen from outside
    says nothing of its cause, and the instance logs are gone with the CI machine."""
    outcome = yield
    report = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("cluster")
    if report.when == "call" and report.failed and isinstance(running, Cluster):
        report.sections.append(("instance tracebacks", _tracebacks(running.logs())))


def _tracebacks(logs: str, keep: int = 3) -> str:
    found = []
    for chunk in logs.split("Traceback (most recent call last):")[1:]:
        found.append("Traceback (most recent call last):" + chunk.split("\n{", 1)[0][:4000])
    return "\n".join(found[-keep:]) or "(no traceback in the instance logs)"


@pytest.fixture(scope="session")
def cluster_redis(tmp_path_factory):
    server = PrivateRedis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def cluster_database(tmp_path_factory):
    url, drop = create_test_database(tmp_path_factory.mktemp("cluster-db"))
    yield url
    drop()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory, cluster_database, cluster_redis):
    running = Cluster(
        tmp_path_factory.mktemp("cluster"), cluster_database, cluster_redis.url, instances=3
    ).start()
    yield running
    running.stop()


def control_app(cluster: Cluster):
    """An app in this process on the cluster's database and Redis: the operator's hands
    (seeding, configuration changes), publishing its changes like any instance."""
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": cluster.owner_url,  # the operator: the owner
            "BASE_DOMAIN": cluster.base_domain,
            "URL_SCHEME": "http",
            "REDIS_URL": cluster.env.get("REDIS_URL"),
            "RATELIMIT_STORAGE_URI": cluster.env.get("REDIS_URL") or "memory://",
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
            "SERVER_NAME": None,
        }
    )


@pytest.fixture(scope="session")
def ops(cluster):
    app = control_app(cluster)
    yield app
    with app.app_context():
        db.engine.dispose()


_numbers = itertools.count(1)


@pytest.fixture
def world(ops):
    """A fresh tenant with a user and a confidential first-party client."""
    from tests.support.cluster_world import make_world

    return make_world(ops, f"c{next(_numbers)}-{uuid.uuid4().hex[:8]}")
