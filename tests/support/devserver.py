"""`gatehouse run` (Flask's development server) as a child process: what a developer sees
in their terminal after `make run`, or after installing the package elsewhere."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DevServer:
    """Runs ``<gatehouse> db upgrade`` then ``<gatehouse> run`` on a fresh SQLite database
    in ``workdir``; everything the process prints goes to ``workdir/server.log``."""

    def __init__(self, gatehouse: str | Path, workdir: Path, env: dict | None = None):
        self.gatehouse = str(gatehouse)
        self.workdir = workdir
        self.port = free_port()
        self.base_domain = f"localhost:{self.port}"
        self.log_path = workdir / "server.log"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "GATEHOUSE_ENV": "development",
            "DATABASE_URL": f"sqlite:///{workdir / 'gatehouse.db'}",
            "SECRET_KEY": "dev-server-test-secret-that-is-long-enough-0123456789",
            "BASE_DOMAIN": self.base_domain,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    def command(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.gatehouse, *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self) -> DevServer:
        upgrade = self.command("db", "upgrade")
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [self.gatehouse, "run", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited:\n{self.output()}")
            try:
                self.get("/healthz", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(f"the server did not start:\n{self.output()}")

    def get(self, path: str, host: str | None = None, **kwargs) -> requests.Response:
        headers = {"Host": host or self.base_domain, **kwargs.pop("headers", {})}
        return requests.get(
            f"http://127.0.0.1:{self.port}{path}", headers=headers, allow_redirects=False, **kwargs
        )

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> str:
        """Stop the server; returns everything it printed."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.output()
