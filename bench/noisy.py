"""The noisy-neighbour figure: tenant A floods ``/oauth2/token`` at 10× its
``token_requests_per_second`` while tenant B sends client_credentials grants at a steady,
normal rate, on the same single worker. B's throughput and p99 are compared with B alone,
and the same flood is run without a quota, so the protection shows.

Load is open-loop (paced): each request has a scheduled send time and its latency is
counted from that time, so a server that falls behind shows it (no coordinated omission).
With ``REDIS_URL`` reachable (127.0.0.1:6379) the quota is counted in Redis, as in
production; otherwise in the worker.

``python -m bench.noisy [--db sqlite] [--seconds 10] [--quota 50] [--b-rate 50]`` runs it
alone; ``make bench`` runs it after the other figures.
"""

from __future__ import annotations

import argparse
import http.client
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from dataclasses import field

from bench import harness
from bench import signin
from bench.seed import seed


@dataclass
class Stream:
    """Results of one paced stream of requests."""

    sent: int = 0
    statuses: dict = field(default_factory=dict)
    latencies: list = field(default_factory=list)  # ms, of 200 answers
    seconds: float = 0.0

    def ok_rate(self) -> float:
        return self.statuses.get(200, 0) / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def paced(port: int, target, rate: float, seconds: float, threads: int) -> Stream:
    """``rate`` client_credentials requests a second for ``seconds``, over ``threads``
    keep-alive connections; latency from each request's scheduled time."""
    out = Stream()
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    interval = threads / rate
    headers = {
        "Host": target.host,
        "Authorization": target.authorization,
        "Content-Type": "application/x-www-form-urlencoded",
    }

    def worker(offset: float) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        count = 0
        while offset + count * interval < seconds - 1e-9:  # no float drift past the end
            due = start + offset + count * interval
            count += 1
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
            try:
                conn.request("POST", "/oauth2/token", "grant_type=client_credentials", headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            took = (time.perf_counter() - due) * 1000
            with lock:
                out.sent += 1
                out.statuses[status] = out.statuses.get(status, 0) + 1
                if status == 200:
                    out.latencies.append(took)
        conn.close()

    pool = [threading.Thread(target=worker, args=(i * interval / threads,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.seconds = seconds
    return out


def set_quota(url: str, slug: str, rate: float | None) -> None:
    """Write A's quota before the server starts (so no coherence delay is measured)."""
    from sqlalchemy import create_engine
    from sqlalchemy import update

    from app.models import Tenant

    engine = create_engine(url)
    with engine.begin() as conn:
        quotas = None if rate is None else {"token_requests_per_second": rate}
        conn.execute(update(Tenant.__table__).where(Tenant.slug == slug).values(quotas=quotas))
    engine.dispose()


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.3):
            return True
    except OSError:
        return False


def _server(database, worker: str):
    env = {"CLIENT_AUTH_FAILURE_LIMIT": "1000000 per minute"}
    if _redis_up():
        env.update(
            REDIS_URL="redis://127.0.0.1:6379/0", QUOTA_KEY_PREFIX=f"gh-bench-{uuid.uuid4().hex}:"
        )
    return harness.Gatehouse(database, worker=worker, **env)


def run(
    kind: str = "sqlite",
    *,
    seconds: int = 10,
    quota: float = 50.0,
    b_rate: float = 50.0,
    worker: str = "sync",
    log=print,
) -> list[dict]:
    """The figures, as rows: B alone, B beside A's flood with and without A's quota."""
    flood = quota * 10
    database = harness.Database.create(kind)
    rows = []
    try:
        manifest = seed(database.url, 2, 5, slug_prefix="nn")
        slug_a = manifest.tenants[0]["slug"]

        def measure(label: str, with_flood: bool) -> None:
            with _server(database, worker) as server:
                a, b = signin.targets(manifest, server.base_domain)
                paced(server.port, b, b_rate, 1, 2)  # warm: keys, snapshots
                paced(server.port, a, 10, 1, 1)
                result: dict = {}
                flooder = None
                if with_flood:
                    flooder = threading.Thread(
                        target=lambda: result.setdefault(
                            "a", paced(server.port, a, flood, seconds + 1, 16)
                        )
                    )
                    flooder.start()
                    time.sleep(0.5)
                stream_b = paced(server.port, b, b_rate, seconds, 4)
                if flooder is not None:
                    flooder.join()
                stream_a = result.get("a")
                row = {
                    "scenario": label,
                    "b_rate": round(stream_b.ok_rate(), 1),
                    "b_p50_ms": round(stream_b.p(50), 2),
                    "b_p99_ms": round(stream_b.p(99), 2),
                    "b_errors": stream_b.sent - stream_b.statuses.get(200, 0),
                    "a_sent_rate": round(stream_a.sent / stream_a.seconds, 1) if stream_a else 0,
                    "a_ok_rate": round(stream_a.ok_rate(), 1) if stream_a else 0,
                    "a_429": stream_a.statuses.get(429, 0) if stream_a else 0,
                }
                rows.append(row)
                log(
                    f"noisy {kind:<10} {label:<28} B {row['b_rate']:7.1f}/s "
                    f"p50 {row['b_p50_ms']:7.2f} ms p99 {row['b_p99_ms']:7.2f} ms "
                    f"errors {row['b_errors']}  |  A sent {row['a_sent_rate']:7.1f}/s "
                    f"ok {row['a_ok_rate']:7.1f}/s 429s {row['a_429']}"
                )

        set_quota(database.url, slug_a, quota)
        measure("B alone", with_flood=False)
        measure(f"A floods, quota {quota:g}/s", with_flood=True)
        set_quota(database.url, slug_a, None)
        measure("A floods, no quota", with_flood=True)
    finally:
        database.drop()
    alone = rows[0]
    for row in rows[1:]:
        row["b_rate_vs_alone"] = round(row["b_rate"] / alone["b_rate"], 3) if alone["b_rate"] else 0
        row["b_p99_vs_alone"] = (
            round(row["b_p99_ms"] / alone["b_p99_ms"], 3) if alone["b_p99_ms"] else 0
        )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.noisy", description=__doc__)
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--quota", type=float, default=50.0, help="A's requests per second")
    parser.add_argument("--b-rate", type=float, default=50.0, help="B's requests per second")
    parser.add_argument("--worker", default="granian", choices=harness.WORKERS)
    args = parser.parse_args(argv)
    harness.pin_self_to_load_core()
    rows = run(
        args.db, seconds=args.seconds, quota=args.quota, b_rate=args.b_rate, worker=args.worker
    )
    for row in rows[1:]:
        print(
            f"{row['scenario']}: B throughput {row['b_rate_vs_alone']:.0%} of alone, "
            f"B p99 {row['b_p99_vs_alone']:.2f}x alone"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
