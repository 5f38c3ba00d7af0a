"""Processes of a benchmark run: databases, servers pinned to core 0, wrk pinned to core 1.

The server under test (Gatehouse under gunicorn, or the reference oidc-provider) runs
with ``taskset -c SERVER_CORE``; every load generator (wrk, the sign-in client, this
process itself) and the local PostgreSQL and Redis (:class:`ServicesOffServerCore`) run
on ``LOAD_CORE``, so figures are "per worker core".
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LUA = BENCH / "lua"
WORK = BENCH / "out"
VENV_BIN = Path(sys.executable).parent
SERVER_CORE = 0
LOAD_CORE = 1
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# A shared machine: BENCH_PG_DB names another database, BENCH_PORTS="7100-7199" keeps
# the servers of a run inside a port range.
PG_BENCH_DB = os.environ.get("BENCH_PG_DB", "gh_bench")
BENCH_SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"


def free_port() -> int:
    if os.environ.get("BENCH_PORTS"):
        low, high = (int(n) for n in os.environ["BENCH_PORTS"].split("-"))
        for port in range(low, high + 1):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
        raise RuntimeError(f"no free port in {low}-{high}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin_self_to_load_core() -> None:
    """This process drives the sign-in flows: keep it off the server's core."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {LOAD_CORE})


# The database and cache servers (PostgreSQL's postmaster, backends and background
# writers; Redis) are services beside the worker, not part of its core: during a run they
# share the load generator's core, as a database on its own host would take none of the
# worker's. A backend forked after the move inherits the postmaster's affinity.
SERVICE_PROCESSES = frozenset({"postgres", "redis-server"})


def _service_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if name in SERVICE_PROCESSES:
            pids.append(int(entry.name))
    return pids


class ServicesOffServerCore:
    """Pin the local PostgreSQL and Redis processes to the load core for the run, and
    give them back every core afterwards (the machine is shared: its tests run on the
    same services). Where that is not allowed (not root, another user's processes), the
    run goes on with them unpinned and says so (``pinned`` is False)."""

    def __init__(self):
        self.pinned = False
        self._all = set(range(os.cpu_count() or 1))

    def _set(self, cores: set[int]) -> bool:
        moved = False
        for pid in _service_pids():
            try:
                os.sched_setaffinity(pid, cores)
                moved = True
            except (PermissionError, ProcessLookupError, OSError):
                continue
        return moved

    def __enter__(self):
        if hasattr(os, "sched_setaffinity") and len(self._all) > 1:
            self.pinned = self._set({LOAD_CORE})
        return self

    def __exit__(self, *exc):
        if self.pinned:
            self._set(self._all)
        return False


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on port {port} after {timeout}s")


# --- databases ------------------------------------------------------------------------


@dataclass
class Database:
    kind: str  # "postgresql" or "sqlite"
    url: str

    @classmethod
    def create(cls, kind: str) -> Database:
        """A fresh, migrated, empty database (gh_bench on PostgreSQL, a file for SQLite)."""
        WORK.mkdir(parents=True, exist_ok=True)
        if kind == "postgresql":
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {PG_BENCH_DB}")
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
        else:
            path = WORK / "gh_bench.sqlite"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        database = cls(kind, url)
        subprocess.run(
            [str(VENV_BIN / "gatehouse"), "db", "upgrade"],
            cwd=ROOT,
            env=database.env(),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        return database

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.url,
            SECRET_KEY=BENCH_SECRET_KEY,
            GATEHOUSE_ENV="production",
            LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "INFO"),
        )
        env.update(extra)
        return env

    def drop(self) -> None:
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")


# --- servers --------------------------------------------------------------------------


class Server:
    """A server process pinned to the server core; stopped with its process group."""

    name = "server"

    def __init__(self, argv: list[str], env: dict[str, str], port: int, log_name: str):
        self.port = port
        WORK.mkdir(parents=True, exist_ok=True)
        self.log_path = WORK / f"{log_name}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(SERVER_CORE), *argv],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_port(port, self.proc)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


WORKERS = ("sync", "gthread", "granian")


# Blocking threads per granian worker: the same default as deploy/granian.env
# (GRANIAN_BLOCKING_THREADS); bench/NOTES.md has the measurement behind it.
GRANIAN_BLOCKING_THREADS = 3


def granian_args(port: int, blocking_threads: int | None = None) -> list[str]:
    """granian serving the WSGI app with ONE worker (the production command in
    deploy/granian.env uses the same options, with more workers)."""
    return [
        "--interface",
        "wsgi",
        "--workers",
        "1",
        "--blocking-threads",
        str(blocking_threads or GRANIAN_BLOCKING_THREADS),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backlog",
        "2048",
        "--log-level",
        "warning",
        "--no-access-log",
    ]


class Gatehouse(Server):
    """Gatehouse with ONE worker: gunicorn ``sync``, gunicorn ``gthread`` (N threads) or
    granian (WSGI, ``GRANIAN_BLOCKING_THREADS`` blocking threads, as in production)."""

    name = "gatehouse"

    def __init__(
        self,
        database: Database,
        worker: str = "sync",
        threads: int = 4,
        blocking_threads: int | None = None,
        **env,
    ):
        port = free_port()
        self.base_domain = f"localhost:{port}"
        self.worker = worker
        if worker == "granian":
            argv = [str(VENV_BIN / "granian"), *granian_args(port, blocking_threads), "wsgi:app"]
        else:
            argv = [
                str(VENV_BIN / "gunicorn"),
                "--workers",
                "1",
                "--worker-class",
                worker,
                "--bind",
                f"127.0.0.1:{port}",
                "--backlog",
                "2048",
                "--log-level",
                "warning",
                "--timeout",
                "120",
            ]
            if worker == "gthread":
                argv += ["--threads", str(threads)]
            argv.append("wsgi:app")
        # Every request comes from 127.0.0.1: the per-IP sign-in limit is raised (as many
        # client addresses would spread it); the per-account limit stays as configured.
        env = {"BASE_DOMAIN": self.base_domain, "LOGIN_RATE_LIMIT": "1000000 per minute", **env}
        super().__init__(argv, database.env(**env), port, "gatehouse")
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gatehouse did not become healthy")

    def log_offset(self) -> int:
        self.log.flush()
        return self.log_path.stat().st_size

    def request_times(self, since: int) -> dict[str, float]:
        """Median server-side milliseconds per ``METHOD /path`` from the JSON request log
        written after byte offset ``since`` (the app logs ``ms`` for every request)."""
        by_route: dict[str, list[float]] = {}
        with open(self.log_path, "rb") as log:
            log.seek(since)
            for raw in log:
                try:
                    entry = json.loads(raw)
                except ValueError:
                    continue
                if "ms" in entry and "method" in entry:
                    route = f"{entry['method']} {entry['path'].split('?', 1)[0]}"
                    by_route.setdefault(route, []).append(float(entry["ms"]))
        return {k: sorted(v)[len(v) // 2] for k, v in by_route.items()}

    def host(self, slug: str) -> str:
        return f"{slug}.{self.base_domain}"

    def worker_pid(self) -> int:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        # taskset execs the server in place: proc.pid is the gunicorn master / granian's
        # supervisor, its first child the one worker.
        return int(children.split()[0])

    def worker_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.worker_pid()}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


class Reference(Server):
    """The reference provider: oidc-provider (npm) on Node, ES256 JWT access tokens."""

    name = "oidc-provider"
    client_id = "bench-client"
    client_secret = "bench-secret-0123456789abcdef0123456789abcdef"

    def __init__(self):
        port = free_port()
        argv = ["node", str(BENCH / "reference" / "server.mjs"), "--port", str(port)]
        argv += ["--client-id", self.client_id, "--client-secret", self.client_secret]
        env = dict(os.environ, NODE_ENV="production")
        super().__init__(argv, env, port, "reference")

    @staticmethod
    def installed() -> bool:
        return (BENCH / "reference" / "node_modules" / "oidc-provider").is_dir()


# --- the load generator ---------------------------------------------------------------


@dataclass
class WrkResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    non_2xx: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    script: str,
    url: str,
    data_file: Path,
    *,
    seconds: int,
    connections: int = 4,
    threads: int = 1,
    extra: tuple[str, ...] = (),
) -> WrkResult:
    """Run one wrk script pinned to the load core; its done() prints a JSON summary."""
    argv = ["taskset", "-c", str(LOAD_CORE), "wrk", f"-t{threads}", f"-c{connections}"]
    argv += [f"-d{seconds}s", "--timeout", "10s", "-s", str(LUA / script), url]
    argv += ["--", str(data_file), *extra]
    out = subprocess.run(argv, cwd=LUA, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout[-2000:]} {out.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    errors = sum(data[k] for k in ("connect", "read", "write", "timeout"))
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=errors + data["status"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        non_2xx=data["status"],
    )


def write_lines(name: str, rows: list[tuple[str, ...]]) -> Path:
    """A tab-separated data file for a wrk script."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / name
    path.write_text("".join("\t".join(row) + "\n" for row in rows))
    return path


def set_id_token_alg(database, server, manifest, alg: str) -> None:
    """Register every bench client of ``manifest`` for ``alg`` ID tokens, as an operator
    would (`gatehouse clients update`, another process): the server sees the change by the
    tenant's config version within a second (the coherence of issue #15)."""
    for tenant in manifest.tenants:
        subprocess.run(
            [
                str(VENV_BIN / "gatehouse"),
                "clients",
                "update",
                "--tenant",
                tenant["slug"],
                tenant["client_id"],
                "--id-token-alg",
                alg,
            ],
            cwd=ROOT,
            env=database.env(BASE_DOMAIN=server.base_domain),
            check=True,
            capture_output=True,
        )
