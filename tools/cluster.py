"""`make cluster`: the demo served by three Gatehouse instances (granian, the production
server) behind HAProxy, on one PostgreSQL database and one Redis — the set-up that
tests/cluster/ exercises — until Ctrl-C.

    make cluster                       # PostgreSQL at 127.0.0.1:5432 (user postgres)
    CLUSTER_DATABASE_URL=postgresql+psycopg://me@db/gh make cluster

It (re)creates the database ``gatehouse_cluster`` on that server, migrates it as the owner,
runs `gatehouse demo`, starts a private redis-server, and serves the load balancer on
http://localhost:7200 (instances on 7201-7203, Redis on 7208). The instances
connect as a member of ``gatehouse_app``, so PostgreSQL row-level security applies.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.cluster import Cluster  # noqa: E402
from tests.support.cluster import PrivateRedis  # noqa: E402

LB_PORT = int(os.environ.get("CLUSTER_PORT", 7200))
SERVER = os.environ.get(
    "CLUSTER_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DATABASE = "gatehouse_cluster"


def _fresh_database() -> str:
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    return make_url(SERVER).set(database=DATABASE).render_as_string(hide_password=False)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="gatehouse-cluster-"))
    redis = PrivateRedis(workdir, LB_PORT + 8).start()
    cluster = Cluster(
        workdir,
        _fresh_database(),
        redis.url,
        lb_port=LB_PORT,
        instance_ports=[LB_PORT + 1, LB_PORT + 2, LB_PORT + 3],
        env={"LOG_LEVEL": "INFO", "ARGON2_TIME_COST": "2", "ARGON2_MEMORY_COST": "19456"},
    )
    try:
        cluster.start()
        demo = cluster.command("demo", env={"BASE_DOMAIN": f"localhost:{LB_PORT}"})
        print(demo.stdout or demo.stderr)
        print(
            f"Load balancer: http://localhost:{LB_PORT} (system), "
            f"http://acme-corp.localhost:{LB_PORT} (demo tenant)"
        )
        print(f"Instances: {', '.join(str(i.port) for i in cluster.instances)}; logs in {workdir}")
        print("Each answer names its instance in X-Served-By. Ctrl-C stops everything.")
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    finally:
        cluster.stop()
        redis.stop()


if __name__ == "__main__":
    main()
