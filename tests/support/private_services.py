"""Throwaway PostgreSQL and Redis servers of a test's own, on free ports, so that a fault
test can stop and start them without touching the shared servers other tests use."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    from tests.support.cluster import free_port

    return free_port()


def _wait_port(port: int, what: str) -> None:
    from tests.support.cluster import _port_open
    from tests.support.cluster import wait_until

    wait_until(lambda: _port_open(port), 10, what=what)


class PrivateRedis:
    """A throwaway redis-server of our own (the shared one is never stopped)."""

    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir, self.port = workdir, port or _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port, "redis")
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    stop = kill


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (initdb in a temp dir, our own port), so that a
    test can stop and start it without touching the shared server."""

    def __init__(self, workdir: Path, port: int | None = None):
        self.port = port or _free_port()
        # initdb refuses root; run as the postgres user then, in a directory it owns.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.datadir = Path(tempfile.mkdtemp(prefix="gh-pg-", dir="/tmp"))
        self.logfile = self.datadir.with_suffix(".log")
        if self.as_user:
            shutil.chown(self.datadir, "postgres", "postgres")

    def _run(self, *args: str, check=True) -> subprocess.CompletedProcess:
        result = subprocess.run([*self.as_user, *args], capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"{args[0]} failed: {result.stdout}{result.stderr}")
        return result

    def init(self) -> PrivatePostgres:
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        return self

    def start(self) -> PrivatePostgres:
        options = f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-l",
            str(self.logfile),
            "-o",
            options,
            "-w",
            "start",
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop", check=False
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.datadir, ignore_errors=True)
        self.logfile.unlink(missing_ok=True)
