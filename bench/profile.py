"""Profile the hot paths in-process: ``python -m bench.profile [--db postgresql|sqlite]``.

Seeds a fresh database (one tenant), mints refresh/access tokens through real sign-in
flows against gunicorn, stops it, then drives the app in this process with Flask's test
client under pyinstrument: client_credentials, refresh_token (rotation), userinfo and
introspection. For each it writes bench/out/profile-<name>.txt (the call tree) and
prints the SQL statements one request runs (the database round trips per grant).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from bench import harness
from bench import signin
from bench.seed import seed


def _statements(app):
    from sqlalchemy import event

    from app.extensions import db

    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, params, context, executemany):
        seen.append(" ".join(statement.split()))

    return seen


def _table_of(statement: str) -> str:
    """``SELECT users`` / ``UPDATE refresh_tokens`` / ``INSERT refresh_tokens``."""
    words = statement.split()
    verb = words[0].upper()
    for marker in ("FROM", "UPDATE", "INTO"):
        if marker in words[:-1] and (verb != "SELECT" or marker == "FROM"):
            return f"{verb} {words[words.index(marker) + 1]}"
    return verb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--db", default="postgresql", choices=("postgresql", "sqlite"))
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--json", help="also write the statement counts here")
    args = parser.parse_args(argv)
    summary = {}
    from pyinstrument import Profiler

    database = harness.Database.create(args.db)
    try:
        manifest = seed(database.url, 1, 200, slug_prefix="prof")
        with harness.Gatehouse(database) as server:
            targets = signin.targets(manifest, server.base_domain)
            stats, tokens = signin.run_flows(server.port, manifest, targets, count=8, threads=2)
            if stats.errors:
                raise SystemExit(f"sign-in fails: {stats.first_error}")
            base_domain = server.base_domain
        import os

        os.environ.update(database.env(BASE_DOMAIN=base_domain, LOG_LEVEL="WARNING"))
        from app import create_app

        app = create_app()
        seen = _statements(app)
        client = app.test_client()
        first = tokens[0]
        chain = {"token": first.refresh_token}
        headers = {"Host": first.host, "Authorization": first.authorization}

        def cc():
            return client.post(
                "/oauth2/token", data={"grant_type": "client_credentials"}, headers=headers
            )

        def refresh():
            response = client.post(
                "/oauth2/token",
                data={"grant_type": "refresh_token", "refresh_token": chain["token"]},
                headers=headers,
            )
            chain["token"] = response.get_json()["refresh_token"]
            return response

        def userinfo():
            return client.get(
                "/oauth2/userinfo",
                headers={"Host": first.host, "Authorization": f"Bearer {first.access_token}"},
            )

        def introspect():
            return client.post(
                "/oauth2/introspect", data={"token": first.access_token}, headers=headers
            )

        for name, call in (
            ("client_credentials", cc),
            ("refresh_token", refresh),
            ("userinfo", userinfo),
            ("introspection", introspect),
        ):
            for _ in range(20):  # warm caches
                assert call().status_code == 200
            seen.clear()
            call()
            one = list(seen)
            profiler = Profiler(interval=0.0002)
            started = time.perf_counter()
            profiler.start()
            for _ in range(args.requests):
                call()
            profiler.stop()
            elapsed = time.perf_counter() - started
            path = harness.WORK / f"profile-{name}.txt"
            path.write_text(profiler.output_text(unicode=False, color=False))
            print(
                f"\n== {name}: {args.requests / elapsed:.0f}/s in-process (profiled), "
                f"{len(one)} SQL statements per request; call tree: {path}"
            )
            for statement, count in Counter(one).items():
                print(f"  {count} x {statement[:160]}")
            summary[name] = {
                "statements": len(one),
                "queries": [f"{n} x {table}" for table, n in Counter(map(_table_of, one)).items()],
                "profiled_rate": args.requests / elapsed,
                "call_tree": str(path.relative_to(harness.ROOT)),
            }
        if args.json:
            import json

            with open(args.json, "w") as out:
                json.dump(summary, out, indent=1)
    finally:
        database.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
