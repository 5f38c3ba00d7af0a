"""CPU per step of the sign-in flow, in-process: ``python -m bench.signin_cpu [--flows N]``.

The same flow as bench/signin.py (GET /oauth2/authorize → GET /login → POST /login →
GET /oauth2/authorize → POST /oauth2/token), driven against the WSGI app in this process
(no HTTP): CPU ms per step (``time.process_time``, the median over the flows), the SQL
statements per step (counted in three flows of their own, before the timed ones: the
counting listener changes the hot reads' path) and, with ``--profile``, a cProfile per
step in bench/out/signin-<step>.prof. Production argon2id parameters, PostgreSQL, one
tenant.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import statistics
import time
from http.client import HTTPMessage
from urllib.parse import urlencode
from urllib.parse import urlsplit

from bench import harness
from bench import signin
from bench.seed import seed

# Every statement the app sends during one request (BEGIN is not one; COMMIT is).
_STATEMENTS: list[str] = []
# CPU ms of the argon2id verifications during one request.
_ARGON2: list[float] = []


def _time_argon2() -> None:
    """Time every argon2id verification, so a step's CPU can be shown without it."""
    from argon2 import PasswordHasher

    verify = PasswordHasher.verify

    def timed(self, *args, **kwargs):
        cpu0 = time.process_time()
        try:
            return verify(self, *args, **kwargs)
        finally:
            _ARGON2.append((time.process_time() - cpu0) * 1000)

    PasswordHasher.verify = timed


@contextlib.contextmanager
def _counting_statements():
    """Statements are counted only inside this block: a listener on the engine sends the
    hot reads of the kept connection through SQLAlchemy's execution instead of the
    compiled DBAPI path production takes (app/db_session.read_rows), so none is attached
    while CPU is timed."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def before(conn, cursor, statement, parameters, context, executemany):
        _STATEMENTS.append(" ".join(statement.split())[:160])

    def commit(conn):
        _STATEMENTS.append("COMMIT")

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "commit", commit)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "commit", commit)


class InProcessBrowser:
    """bench.signin.Browser's interface over the WSGI app (a cookie jar, no socket)."""

    def __init__(self, app, profiles: dict | None):
        self.app = app
        self.cookies: dict[str, str] = {}
        self.cpu: dict[str, list[float]] = {}
        self.statements: dict[str, list[int]] = {}
        self.sql: dict[str, list[str]] = {}
        self.profiles = profiles

    def request(self, method, host, path, body=None, headers=None):
        from werkzeug.test import EnvironBuilder

        head = {"Host": host, "User-Agent": "gatehouse-bench", **(headers or {})}
        if self.cookies:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = urlencode(body).encode() if body is not None else None
        builder = EnvironBuilder(
            path=urlsplit(path).path,
            query_string=urlsplit(path).query,
            method=method,
            headers=head,
            data=data,
            content_type="application/x-www-form-urlencoded" if data is not None else None,
        )
        environ = builder.get_environ()
        builder.close()
        environ["wsgi.input"] = io.BytesIO(data or b"")
        step = f"{method} {urlsplit(path).path}"
        if step in self.cpu:  # the second authorize of a flow (signed in) is its own row
            step += " (again)"
        status_line, response_headers = [], []

        def start_response(status, headers, exc_info=None):
            status_line.append(status)
            response_headers.extend(headers)

        profiler = (
            self.profiles.setdefault(step, cProfile.Profile(time.process_time))
            if (self.profiles is not None)
            else None
        )
        _STATEMENTS.clear()
        _ARGON2.clear()
        cpu0 = time.process_time()
        if profiler is not None:
            profiler.enable()
        result = self.app(environ, start_response)
        payload = b"".join(result)
        if hasattr(result, "close"):
            result.close()
        if profiler is not None:
            profiler.disable()
        cpu = (time.process_time() - cpu0) * 1000
        self.cpu.setdefault(step, []).append(cpu)
        if _ARGON2:
            self.cpu.setdefault(f"{step} w/o argon2id", []).append(cpu - sum(_ARGON2))
        self.statements.setdefault(step, []).append(len(_STATEMENTS))
        self.sql.setdefault(step, []).extend(_STATEMENTS)
        message = HTTPMessage()
        for name, value in response_headers:
            message[name] = value
        for cookie in message.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return int(status_line[0].split()[0]), message, payload.decode("utf-8", "replace")

    def close(self) -> None:
        pass


def _argon2_ms(manifest) -> float:
    """CPU ms of one verification of the seeded hash (the part of POST /login no code
    change here can remove)."""
    from argon2 import PasswordHasher

    from bench.seed import production_hash

    hashed = production_hash(manifest.password)
    hasher = PasswordHasher()
    values = []
    for _ in range(10):
        cpu0 = time.process_time()
        hasher.verify(hashed, manifest.password)
        values.append((time.process_time() - cpu0) * 1000)
    return statistics.median(values)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.signin_cpu")
    parser.add_argument("--flows", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sql", action="store_true", help="print one flow's statements")
    args = parser.parse_args(argv)
    database = harness.Database.create("postgresql")
    try:
        manifest = seed(database.url, 1, max(args.flows + 10, 50), slug_prefix="sgn")
        os.environ.update(database.env(BASE_DOMAIN="localhost:5999", LOG_LEVEL="WARNING"))
        from app import create_app

        app = create_app({"LOGIN_RATE_LIMIT": "1000000 per minute"})
        _time_argon2()
        target = signin.targets(manifest, "localhost:5999")[0]
        profiles: dict = {}
        steps: dict[str, list[float]] = {}
        counts: dict[str, list[int]] = {}
        for n in range(5):  # the first flows warm the worker up
            signin.sign_in(InProcessBrowser(app, None), target, manifest, n)
        with _counting_statements():  # then three counted, not timed
            for n in range(5, 8):
                counted = InProcessBrowser(app, None)
                signin.sign_in(counted, target, manifest, n)
                for step, values in counted.statements.items():
                    counts.setdefault(step, []).extend(values)
        for n in range(8, args.flows + 8):
            browser = InProcessBrowser(app, profiles if args.profile else None)
            signin.sign_in(browser, target, manifest, n)
            for step, values in browser.cpu.items():
                steps.setdefault(step, []).extend(values)
        print(f"{'step':<28} {'CPU ms (median)':>16} {'statements':>11} {'n':>4}")
        for step, values in steps.items():
            statements = statistics.median(counts.get(step.removesuffix(" w/o argon2id"), [0]))
            print(f"{step:<28} {statistics.median(values):16.2f} {statements:11g} {len(values):4d}")
        print(f"{'argon2id verify alone':<28} {_argon2_ms(manifest):16.2f}")
        if args.sql:
            for step, lines in counted.sql.items():
                print(f"\n{step} (last flow, both requests if the step repeats):")
                for line in lines:
                    print(f"  {line}")
        harness.WORK.mkdir(parents=True, exist_ok=True)
        for step, profiler in profiles.items():
            name = step.replace(" ", "").replace("/", "_")
            profiler.dump_stats(harness.WORK / f"signin-{name}.prof")
    finally:
        database.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
