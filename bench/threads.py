"""granian blocking threads per worker, measured: ``python -m bench.threads [--threads 1,2,4]``.

One worker pinned to the server core (as in ``make bench``), PostgreSQL, one tenant; for
each number of blocking threads, a fresh server and short wrk runs (load core) of
client_credentials, refresh_token with rotation and userinfo. Not part of ``make bench``:
it answers one question (does a second thread use the time a request waits for the
database, e.g. the COMMIT's WAL flush, or only contend for the GIL?), recorded in
bench/NOTES.md.
"""

from __future__ import annotations

import argparse

from bench import harness
from bench import signin
from bench.seed import seed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.threads")
    parser.add_argument("--threads", default="1,2,4")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args(argv)
    database = harness.Database.create("postgresql")
    try:
        manifest = seed(database.url, 1, 200, slug_prefix="thr")
        for threads in [int(n) for n in args.threads.split(",")]:
            with harness.Gatehouse(database, "granian", blocking_threads=threads) as server:
                targets = signin.targets(manifest, server.base_domain)
                _, tokens = signin.run_flows(server.port, manifest, targets, count=16, threads=2)
                url = f"http://127.0.0.1:{server.port}"
                runs = signin.workloads(targets, tokens, args.connections)
                del runs["introspection"]  # the question is about waits: one read suffices
                for name, workload in runs.items():
                    res = signin.run_workload(
                        workload,
                        url,
                        "threads",
                        seconds=args.seconds,
                        connections=args.connections,
                    )
                    print(
                        f"threads={threads} {name:<20} {res.rps:8.1f}/s  p50 {res.p50_ms:6.2f} ms"
                        f"  p99 {res.p99_ms:6.2f} ms  errors {res.errors}",
                        flush=True,
                    )
    finally:
        database.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
