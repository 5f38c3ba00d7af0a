"""CPU per request inside the real server: ``python -m bench.server_cpu [--seconds 5]``.

One granian worker pinned to the server core (as ``make bench`` runs it), PostgreSQL, one
tenant (``--tenants N``: N tenants, the requests rotating over them); wrk on the load core
drives client_credentials, refresh_token with rotation,
userinfo and introspection in turn. For each it prints the rate and, from /proc, the CPU
the worker process spent per request (all its threads: granian's Rust runtime, the
blocking threads running the app; user and system) and what every PostgreSQL process
spent per request. Rates move with whatever else the machine runs; CPU per request much
less, and it is what a core's throughput is bounded by (1 / worker ms). ``bench.cpu``
measures the app alone, in-process; the difference is the server's own cost and the
effect of running beside the load generator.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bench import harness
from bench import signin
from bench.seed import seed

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int | str) -> tuple[float, float]:
    """(user, system) seconds of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / _TICK, int(fields[12]) / _TICK


def _postgres_cpu() -> float:
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "postgres":
                total += sum(_cpu(pid))
        except OSError:  # ended meanwhile
            continue
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.server_cpu")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--only", help="comma-separated: client_credentials,refresh_token,...")
    parser.add_argument(
        "--tenants", type=int, default=1, help="rotate over this many tenants (16 flows' tokens)"
    )
    parser.add_argument(
        "--id-token-alg",
        choices=("RS256", "ES256"),
        default="RS256",
        help="the bench client's ID-token algorithm (RS256: a client that registers none)",
    )
    args = parser.parse_args(argv)
    database = harness.Database.create("postgresql")
    try:
        users = max(4, 200 // args.tenants)  # 200 users in all, at least 4 per tenant
        manifest = seed(database.url, args.tenants, users, slug_prefix="scpu")
        with harness.Gatehouse(database, "granian") as server:
            targets = signin.targets(manifest, server.base_domain)
            if args.id_token_alg != "RS256":
                harness.set_id_token_alg(database, server, manifest, args.id_token_alg)
            # Every tenant warm before measuring: the first grant makes its keys (a
            # configuration change, so its snapshot is rebuilt by the next request), the
            # second rebuilds the snapshot.
            for _ in range(2):
                signin.touch_every_tenant(server, targets, 300)
            _, tokens = signin.run_flows(server.port, manifest, targets, count=16, threads=2)
            conns = args.connections
            runs = signin.workloads(targets, tokens, conns)
            wanted = args.only.split(",") if args.only else list(runs)
            worker = server.worker_pid()
            print(f"{'endpoint':<20} {'rate':>9}  worker ms/req (user + sys)  postgres ms/req")
            for name in wanted:
                user0, sys0 = _cpu(worker)
                pg0 = _postgres_cpu()
                result = signin.run_workload(
                    runs[name],
                    f"http://127.0.0.1:{server.port}",
                    "server-cpu",
                    seconds=args.seconds,
                    connections=conns,
                )
                user1, sys1 = _cpu(worker)
                per = 1000 / max(result.requests, 1)
                user, system = (user1 - user0) * per, (sys1 - sys0) * per
                print(
                    f"{name:<20} {result.rps:8.1f}/s  {user + system:6.3f} ({user:.3f} + "
                    f"{system:.3f})          {(_postgres_cpu() - pg0) * per:6.3f}",
                    flush=True,
                )
    finally:
        database.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
