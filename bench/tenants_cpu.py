"""CPU per client_credentials grant, in-process, one tenant against many rotating:
``python -m bench.tenants_cpu [--tenants 1000] [--db sqlite|postgresql]``.

The "1,000 tenants within 10% of one" target is measured by ``make bench`` through HTTP;
this separates what the app itself spends: it seeds ``--tenants`` tenants, makes each one's
keys and snapshot (two grants each), then times grants for the first tenant only and for
all of them in turn, in the same process (``time.process_time``, best of 5 rounds).
"""

from __future__ import annotations

import argparse
import logging
import os
import time

from bench import harness
from bench import signin
from bench.cpu import _call
from bench.cpu import _environ
from bench.cpu import _with_body
from bench.seed import seed

BASE_DOMAIN = "bench.localhost"


def _best_ms(app, environs, requests: int, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for i in range(requests):
            _call(app, environs[i % len(environs)])
        best = min(best, (time.process_time() - started) / requests * 1000)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tenants_cpu")
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000, help="per round")
    parser.add_argument("--db", default="sqlite", choices=("postgresql", "sqlite"))
    args = parser.parse_args(argv)

    database = harness.Database.create(args.db)
    try:
        manifest = seed(database.url, args.tenants, 2, slug_prefix="tcpu")
        os.environ.update(database.env(BASE_DOMAIN=BASE_DOMAIN, LOG_LEVEL="INFO"))
        from app import create_app

        app = create_app()
        request_log = logging.getLogger("gatehouse.request")
        request_log.handlers[:] = [logging.FileHandler(harness.WORK / "tenants-cpu.log")]
        request_log.propagate = False
        environs = [
            _with_body(
                _environ(
                    t.host,
                    "POST",
                    "/oauth2/token",
                    headers={"Authorization": t.authorization},
                    form={"grant_type": "client_credentials"},
                )
            )
            for t in signin.targets(manifest, BASE_DOMAIN)
        ]
        for _ in range(2):  # the first grant makes the keys; the second, the new snapshot
            for environ in environs:
                status, body = _call(app, environ)
                if status != 200:
                    raise SystemExit(f"grant failed: {status} {body[:200]!r}")
        one = _best_ms(app, environs[:1], args.requests)
        many = _best_ms(app, environs, args.requests)
        print(f"client_credentials CPU per grant ({args.db}, {args.tenants} warm tenants)")
        print(f"  one tenant:              {one:.3f} ms")
        print(f"  {args.tenants} tenants rotating: {many:.3f} ms  ({one / many:.0%} of one's rate)")
    finally:
        database.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
