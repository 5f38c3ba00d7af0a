"""CPU per request, in-process: ``python -m bench.cpu [--db postgresql|sqlite]``.

Wall-clock rates are noisy on a shared machine; the CPU time this process spends per
request is not (much). Seeds a fresh database (one tenant), mints tokens through real
sign-in flows against a server, stops it, then calls the WSGI app directly (no test
client, no HTTP) ``--requests`` times per endpoint after a warm-up and prints, per
endpoint: CPU ms per request (``time.process_time``), wall ms per request (includes the
database's round trips), each the best of ``--rounds`` rounds (the one least disturbed by
other work on a shared machine), and SQL statements per request. ``--profile NAME`` writes a
cProfile of that endpoint to bench/out/cpu-NAME.prof (``--profile all`` for every one).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from urllib.parse import urlencode

from bench import harness
from bench import signin
from bench.seed import seed


def _environ(host, method, path, *, headers=None, form=None):
    from werkzeug.test import EnvironBuilder

    body = urlencode(form).encode() if form is not None else None
    builder = EnvironBuilder(
        path=path,
        method=method,
        headers={"Host": host, **(headers or {})},
        data=body,
        content_type="application/x-www-form-urlencoded" if form is not None else None,
    )
    try:
        return builder.get_environ()
    finally:
        builder.close()


def _call(app, environ):
    """One request through the whole WSGI stack: (status, body bytes)."""
    env = dict(environ)
    env["wsgi.input"] = io.BytesIO(environ.get("gatehouse.body", b""))
    status = []

    def start_response(s, headers, exc_info=None):
        status.append(s)

    result = app(env, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return int(status[0].split()[0]), body


def _with_body(environ):
    environ["gatehouse.body"] = environ["wsgi.input"].read()
    return environ


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu")
    parser.add_argument("--db", default="postgresql", choices=("postgresql", "sqlite"))
    parser.add_argument("--requests", type=int, default=200, help="per round")
    parser.add_argument("--rounds", type=int, default=5, help="the best round counts")
    parser.add_argument("--only", help="comma-separated endpoint names")
    parser.add_argument("--profile", help="an endpoint name, or 'all'")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument(
        "--tenants",
        type=int,
        default=1,
        help="seed this many tenants and add userinfo and introspection rotating over them",
    )
    args = parser.parse_args(argv)

    database = harness.Database.create(args.db)
    try:
        manifest = seed(database.url, args.tenants, 200, slug_prefix="cpu")
        with harness.Gatehouse(database) as server:
            targets = signin.targets(manifest, server.base_domain)
            flows = max(17, 2 * args.tenants)
            stats, tokens = signin.run_flows(server.port, manifest, targets, count=flows, threads=2)
            if stats.errors:
                raise SystemExit(f"sign-in fails: {stats.first_error}")
            base_domain = server.base_domain
        os.environ.update(database.env(BASE_DOMAIN=base_domain, LOG_LEVEL="INFO"))
        import logging

        from sqlalchemy import event

        from app import create_app
        from app.extensions import db

        app = create_app()
        # The request log goes to a file, as in production (not the terminal).
        from app.web.hooks import JsonFormatter
        from app.web.hooks import RequestContextFilter

        handler = logging.FileHandler(harness.WORK / "cpu-requests.log")
        handler.setFormatter(JsonFormatter())  # the production line, JSON with the ids
        handler.addFilter(RequestContextFilter())
        for name in ("gatehouse.request", ""):
            logging.getLogger(name).handlers[:] = [handler]
        # Once, as in production: not also through the "gatehouse" logger's stderr handler
        # (which formatted every line a second time, and wrote it to the terminal).
        logging.getLogger("gatehouse.request").propagate = False
        with app.app_context():
            engine = db.engine
        statements = [0]

        def _count(*_a, **_k):
            statements[0] += 1

        first, chains = tokens[0], [t for t in tokens[1:] if t.host == tokens[0].host]
        # One token of each tenant, for the reads rotating over the tenants.
        rotating = list({t.host: t for t in tokens}.values())
        host = first.host
        basic = {"Authorization": first.authorization}
        bearer = {"Authorization": f"Bearer {first.access_token}"}
        cc_env = _with_body(
            _environ(
                host,
                "POST",
                "/oauth2/token",
                headers=basic,
                form={"grant_type": "client_credentials"},
            )
        )
        # The same grant through Authlib (a query parameter keeps it off the direct path,
        # app/oauth/direct.py): Authlib's share of a grant, measured side by side.
        cc_authlib_env = _with_body(
            _environ(
                host,
                "POST",
                "/oauth2/token?via=authlib",
                headers=basic,
                form={"grant_type": "client_credentials"},
            )
        )
        userinfo_env = _environ(host, "GET", "/oauth2/userinfo", headers=bearer)
        introspect_env = _with_body(
            _environ(
                host,
                "POST",
                "/oauth2/introspect",
                headers=basic,
                form={"token": first.access_token},
            )
        )
        introspect_authlib_env = _with_body(
            _environ(
                host,
                "POST",
                "/oauth2/introspect?via=authlib",
                headers=basic,
                form={"token": first.access_token},
            )
        )
        discovery_env = _environ(host, "GET", "/.well-known/openid-configuration")
        jwks_env = _environ(host, "GET", "/.well-known/jwks.json")
        healthz_env = _environ(host, "GET", "/healthz")
        state = {"k": 0, "tokens": [c.refresh_token for c in chains]}

        def refresh(path="/oauth2/token"):
            k = state["k"] = (state["k"] + 1) % len(chains)
            env = _with_body(
                _environ(
                    chains[k].host,
                    "POST",
                    path,
                    headers={"Authorization": chains[k].authorization},
                    form={"grant_type": "refresh_token", "refresh_token": state["tokens"][k]},
                )
            )
            status, body = _call(app, env)
            if status == 200:
                state["tokens"][k] = json.loads(body)["refresh_token"]
            return status, body

        def rotate(environs):
            state = {"k": 0}

            def call():
                state["k"] = (state["k"] + 1) % len(environs)
                return _call(app, environs[state["k"]])

            return call

        userinfo_envs = [
            _environ(
                t.host,
                "GET",
                "/oauth2/userinfo",
                headers={"Authorization": f"Bearer {t.access_token}"},
            )
            for t in rotating
        ]
        introspect_envs = [
            _with_body(
                _environ(
                    t.host,
                    "POST",
                    "/oauth2/introspect",
                    headers={"Authorization": t.authorization},
                    form={"token": t.access_token},
                )
            )
            for t in rotating
        ]
        calls = {
            "healthz": lambda: _call(app, healthz_env),
            "discovery": lambda: _call(app, discovery_env),
            "jwks": lambda: _call(app, jwks_env),
            "client_credentials": lambda: _call(app, cc_env),
            "client_credentials (Authlib)": lambda: _call(app, cc_authlib_env),
            "userinfo": lambda: _call(app, userinfo_env),
            "introspection": lambda: _call(app, introspect_env),
            "introspection (Authlib)": lambda: _call(app, introspect_authlib_env),
            "refresh_token": refresh,
            # The same refresh through Authlib (a query parameter keeps it off the direct
            # path): the direct path's gain, side by side.
            "refresh_token (Authlib)": lambda: refresh("/oauth2/token?via=authlib"),
        }
        if len(rotating) > 1:
            calls[f"userinfo ({len(rotating)} tenants)"] = rotate(userinfo_envs)
            calls[f"introspection ({len(rotating)} tenants)"] = rotate(introspect_envs)
        if args.only:
            calls = {k: v for k, v in calls.items() if k in args.only.split(",")}
        results = {}
        print(f"{'endpoint':<28} {'CPU ms':>8} {'wall ms':>8} {'stmts':>6}   ({args.db})")
        for name, call in calls.items():
            for _ in range(30):
                status, body = call()
                assert status == 200, (name, status, body[:300])
            # Statements are counted in one round of their own: a listener on the engine
            # sends the hot reads through SQLAlchemy's execution (the same SQL) instead
            # of the DBAPI cursor (app/db_session.read_rows), so none is attached while
            # the CPU is timed.
            statements[0] = 0
            event.listen(engine, "before_cursor_execute", _count)
            try:
                for _ in range(args.requests):
                    call()
            finally:
                event.remove(engine, "before_cursor_execute", _count)
            per = statements[0] / args.requests
            profiler = None
            if args.profile in (name, "all"):
                import cProfile

                profiler = cProfile.Profile(time.process_time)  # CPU, not waits
                profiler.enable()
            cpu = wall = float("inf")
            for _ in range(args.rounds):  # the best round: the least disturbed by others
                cpu0, wall0 = time.process_time(), time.perf_counter()
                for _ in range(args.requests):
                    call()
                cpu = min(cpu, (time.process_time() - cpu0) / args.requests * 1000)
                wall = min(wall, (time.perf_counter() - wall0) / args.requests * 1000)
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(harness.WORK / f"cpu-{name}.prof")
            results[name] = {"cpu_ms": round(cpu, 3), "wall_ms": round(wall, 3), "statements": per}
            print(f"{name:<28} {cpu:8.3f} {wall:8.3f} {per:6.2f}", flush=True)
        if args.json:
            with open(args.json, "w") as out:
                json.dump(results, out, indent=1)
    finally:
        database.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
