"""A real Gatehouse cluster on loopback: N instances of the production server (granian,
deploy/granian.env) behind HAProxy (round robin, health checks on ``/readyz``), sharing
one PostgreSQL database and one Redis. Used by tests/cluster/ and by ``make cluster``.

Everything the processes print goes to files in ``workdir``. Ports are taken from the
operating system (free ones), so parallel test workers never collide; ``make cluster``
asks for fixed ones.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.private_services import PrivatePostgres  # noqa: F401 - re-exported
from tests.support.private_services import PrivateRedis  # noqa: F401 - re-exported

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GATEHOUSE = str(BIN / "gatehouse")
GRANIAN = str(BIN / "granian")
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
SECRET = "cluster-secret-key-that-is-long-enough-for-production-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop_process(process: subprocess.Popen | None, sig=signal.SIGTERM, timeout=15) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Instance:
    """One Gatehouse instance: granian with deploy/granian.env's shape (1 worker here)."""

    def __init__(self, name: str, port: int, env: dict, workdir: Path):
        self.name, self.port, self.env, self.workdir = name, port, env, workdir
        self.process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> Instance:
        env = {
            **self.env,
            "GRANIAN_INTERFACE": "wsgi",
            "GRANIAN_HOST": "127.0.0.1",
            "GRANIAN_PORT": str(self.port),
            "GRANIAN_WORKERS": "1",
            "GRANIAN_BLOCKING_THREADS": "1",
            "GRANIAN_LOG_ACCESS_ENABLED": "false",
            "GRANIAN_LOG_LEVEL": "warning",
        }
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [GRANIAN, "wsgi:app"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def ready(self) -> bool:
        try:
            return (
                requests.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200
            )
        except requests.RequestException:
            return False

    def wait_ready(self, timeout: float = 60) -> None:
        wait_until(self.ready, timeout, 0.1, f"{self.name} /readyz")

    def kill(self) -> None:
        """SIGKILL the whole process group (granian's supervisor and its worker)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, sig=signal.SIGTERM) -> None:
        stop_process(self.process, sig)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class HAProxy:
    """Round robin over the instances, health-checked on /readyz; each answer names the
    instance that served it in ``X-Served-By``."""

    def __init__(self, workdir: Path, port: int, backends: list[Instance]):
        self.workdir, self.port, self.backends = workdir, port, backends
        self.config = workdir / "haproxy.cfg"
        self.process: subprocess.Popen | None = None

    def render(self) -> str:
        # When every instance fails /readyz (the shared database is down), the unchecked
        # backup entries keep passing requests, so callers get Gatehouse's own 503 with
        # Retry-After (RFC 6749 JSON, problem+json, the styled page) rather than the
        # load balancer's bare one; a dead process is still skipped (redispatch).
        servers = "\n".join(
            f"    server {i.name} 127.0.0.1:{i.port} check inter 500ms fall 2 rise 2"
            for i in self.backends
        )
        servers += "\n" + "\n".join(
            f"    server {i.name}-backup 127.0.0.1:{i.port} backup" for i in self.backends
        )
        return f"""global
    maxconn 512
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 2
    option redispatch
frontend gatehouse
    bind 127.0.0.1:{self.port}
    option forwardfor
    http-request set-header X-Forwarded-Proto http
    default_backend instances
backend instances
    balance roundrobin
    option allbackups
    option httpchk GET /readyz
    http-check expect status 200
    http-response set-header X-Served-By %s
{servers}
"""

    def start(self) -> HAProxy:
        self.config.write_text(self.render())
        check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(self.config)], capture_output=True)
        assert check.returncode == 0, check.stderr.decode()
        with (self.workdir / "haproxy.log").open("a") as log:
            self.process = subprocess.Popen(
                [HAPROXY, "-db", "-f", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(lambda: _port_open(self.port), 10, what="haproxy")
        return self

    def stop(self) -> None:
        stop_process(self.process)


def _as_role(url: str, role: str | None) -> str:
    if not role:
        return url
    from sqlalchemy.engine import make_url

    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


class Cluster:
    """``instances`` Gatehouse instances behind HAProxy on one database and one Redis."""

    def __init__(
        self,
        workdir: Path,
        database_url: str,
        redis_url: str | None,
        *,
        instances: int = 3,
        lb_port: int | None = None,
        instance_ports: list[int] | None = None,
        env: dict | None = None,
        app_role: bool = True,
    ):
        """The instances connect as a login role in ``gatehouse_app`` (not the tables'
        owner, so row-level security applies), as in production; ``gatehouse db upgrade``
        runs as the owner (``database_url``)."""
        self.workdir = workdir
        self.owner_url = database_url
        self.login_role = f"gh_cluster_{os.getpid()}_{free_port()}" if app_role else None
        self.lb_port = lb_port or free_port()
        self.base_domain = f"localhost:{self.lb_port}"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "PYTHONUNBUFFERED": "1",
            "GATEHOUSE_ENV": "production",
            "SECRET_KEY": SECRET,
            "DATABASE_URL": _as_role(database_url, self.login_role),
            "BASE_DOMAIN": self.base_domain,
            "URL_SCHEME": "http",
            "TRUSTED_PROXY_COUNT": "1",
            "METRICS_TOKEN": "cluster-metrics-token",
            "OUTBOUND_ALLOW_PRIVATE": "true",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "1024",
            "LOG_LEVEL": "WARNING",
            **({"REDIS_URL": redis_url} if redis_url else {}),
            **(env or {}),
        }
        ports = instance_ports or [free_port() for _ in range(instances)]
        self.instances = [
            Instance(f"gh{n + 1}", port, self.env, workdir) for n, port in enumerate(ports)
        ]
        self.haproxy = HAProxy(workdir, self.lb_port, self.instances)

    # --- life cycle ----------------------------------------------------------------

    def command(self, *args: str, env: dict | None = None, input: str | None = None):
        return subprocess.run(
            [GATEHOUSE, *args],
            cwd=self.workdir,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            input=input,
        )

    def start(self) -> Cluster:
        upgrade = self.command("db", "upgrade", env={"DATABASE_URL": self.owner_url})
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
        if self.login_role:
            self._owner_sql(f"CREATE ROLE {self.login_role} LOGIN IN ROLE gatehouse_app")
        for instance in self.instances:
            instance.start()
        for instance in self.instances:
            instance.wait_ready()
        self.haproxy.start()
        self.wait_all_up()
        return self

    def stop(self) -> None:
        self.haproxy.stop()
        for instance in self.instances:
            instance.stop()
        if self.login_role:
            self._owner_sql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE usename = '{self.login_role}'",
                f"DROP ROLE IF EXISTS {self.login_role}",
            )

    def _owner_sql(self, *statements: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy import text

        engine = create_engine(self.owner_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for statement in statements:
                    conn.execute(text(statement))
        finally:
            engine.dispose()

    def wait_all_up(self, timeout: float = 20) -> None:
        """Until HAProxy has sent requests to every running instance."""

        def spread():
            seen = {self.get("/readyz").headers.get("X-Served-By") for _ in self.instances}
            seen |= {self.get("/readyz").headers.get("X-Served-By") for _ in self.instances}
            return seen >= {i.name for i in self.instances if i.running}

        wait_until(spread, timeout, 0.2, "every instance in rotation")

    # --- talking to it ---------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.lb_port}"

    def host(self, slug: str | None) -> str:
        return self.base_domain if slug is None else f"{slug}.{self.base_domain}"

    def issuer(self, slug: str | None) -> str:
        return f"http://{self.host(slug)}"

    def get(self, path: str, slug: str | None = None, session=None, **kwargs):
        return self.request("GET", path, slug, session, **kwargs)

    def post(self, path: str, slug: str | None = None, session=None, **kwargs):
        return self.request("POST", path, slug, session, **kwargs)

    def request(self, method, path, slug=None, session=None, **kwargs):
        """A request through the load balancer (or to one instance: ``base=``)."""
        base = kwargs.pop("base", None) or self.url
        headers = {"Host": self.host(slug), **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 15)
        kwargs.setdefault("allow_redirects", False)
        return (session or requests).request(method, base + path, headers=headers, **kwargs)

    def instance_url(self, instance: Instance) -> str:
        return f"http://127.0.0.1:{instance.port}"

    def logs(self, tail: int | None = None) -> str:
        """Every instance's output (the last ``tail`` characters of each)."""
        return "\n".join(
            f"--- {i.name}\n{i.log_path.read_text()[-(tail or 0) :]}"
            for i in self.instances
            if i.log_path.exists()
        )
