"""``python -m bench [--quick]``: run every figure and write bench/RESULTS.md.

Per database (PostgreSQL, then SQLite): a fresh migrated database with one tenant; the
figures (client_credentials, sign-in flows, refresh_token with rotation, userinfo,
introspection); then 10,000 tenants / 1,000,000 users are seeded next to it and the
figures are taken again across many tenants, ending with the worker's memory after
signing for every tenant. oidc-provider runs once, on the same core, for the
client_credentials ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass

from bench import harness
from bench import noisy
from bench import report
from bench import signin
from bench.seed import seed


@dataclass
class Plan:
    quick: bool
    seconds: int
    users_one_tenant: int
    scale_tenants: int
    scale_users_per_tenant: int
    touch_tenants: int  # tenants the "many" client_credentials run rotates across
    flow_tenants: int  # tenants the "many" sign-in runs rotate across
    chains: int  # refresh-token chains (and bearer tokens) per run
    touch_budget: int  # seconds at most for "a grant for every tenant" (memory figure)
    flow_threads: int = 4
    connections: int = 4


def make_plan(args) -> Plan:
    if args.quick:
        return Plan(True, 5, 200, 100, 100, 100, 20, 16, 60)
    return Plan(False, args.seconds or 15, 1000, 10_000, 100, 1000, 100, 32, 300)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def figure(results, db, phase, name, *, rate, p50, p99, errors=0, unit="/s", **extra):
    row = {"db": db, "phase": phase, "name": name, "rate": rate, "unit": unit}
    row.update(p50_ms=p50, p99_ms=p99, errors=errors, **extra)
    results["figures"].append(row)
    log(
        f"{db:<10} {phase:<8} {name:<34} {rate:9.1f}{unit}  p50 {p50:7.2f} ms  "
        f"p99 {p99:7.2f} ms  errors {errors}"
    )
    return row


def wrk_figure(results, db, phase, name, script, server, rows, plan, **kw):
    path = harness.write_lines(f"{script}.tsv", rows)
    extra = kw.pop("extra", ())
    connections = kw.pop("connections", plan.connections)
    threads = kw.pop("threads", 1)
    res = harness.run_wrk(
        script,
        f"http://127.0.0.1:{server.port}",
        path,
        seconds=kw.pop("seconds", plan.seconds),
        connections=connections,
        threads=threads,
        extra=extra,
    )
    return figure(
        results,
        db,
        phase,
        name,
        rate=res.rps,
        p50=res.p50_ms,
        p99=res.p99_ms,
        errors=res.errors,
        requests=res.requests,
        **kw,
    )


def on_server_core(module: str, seconds: int) -> dict:
    """``python -m <module> <seconds>`` pinned to the server's core: its JSON line."""
    out = subprocess.run(
        ["taskset", "-c", str(harness.SERVER_CORE), sys.executable, "-m", module, str(seconds)],
        cwd=harness.ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def reference_cc(results, plan: Plan) -> None:
    import base64

    if not harness.Reference.installed():
        log("oidc-provider not installed (npm ci in bench/reference): skipped")
        return
    with harness.Reference() as ref:
        auth = "Basic " + base64.b64encode(f"{ref.client_id}:{ref.client_secret}".encode()).decode()
        rows = [(f"127.0.0.1:{ref.port}", auth)]
        wrk_figure(
            results,
            "memory",
            "one",
            "oidc-provider client_credentials",
            "client_credentials.lua",
            ref,
            rows,
            plan,
            extra=("api:read", "/token"),
            seconds=3,
        )  # warm-up (JIT)
        results["figures"].pop()
        wrk_figure(
            results,
            "memory",
            "one",
            "oidc-provider client_credentials",
            "client_credentials.lua",
            ref,
            rows,
            plan,
            extra=("api:read", "/token"),
            server_name="oidc-provider",
        )


def cc_rows(server, targets):
    return [(t.host, t.authorization) for t in targets]


def choose_worker(results, database, manifest, plan) -> str:
    """Measure client_credentials under gunicorn sync, gunicorn gthread and granian (and
    discovery, the lightest request, for the record); keep the fastest on client_credentials."""
    scores = {}
    for worker in harness.WORKERS:
        with harness.Gatehouse(database, worker=worker) as server:
            targets = signin.targets(manifest, server.base_domain, 1)
            warm(server, targets, manifest)
            row = wrk_figure(
                results,
                database.kind,
                "worker",
                f"client_credentials ({worker})",
                "client_credentials.lua",
                server,
                cc_rows(server, targets),
                plan,
                seconds=max(5, plan.seconds // 2),
                worker=worker,
            )
            scores[worker] = row["rate"]
            wrk_figure(
                results,
                database.kind,
                "worker",
                f"discovery ({worker})",
                "get.lua",
                server,
                [(t.host,) for t in targets],
                plan,
                extra=("/.well-known/openid-configuration",),
                seconds=max(5, plan.seconds // 2),
                worker=worker,
            )
    best = max(scores, key=scores.get)
    log(f"worker class: {best} ({scores})")
    return best


def warm(server, targets, manifest, flows: int = 4) -> None:
    """Create keys, fill caches and check the sign-in flow works before measuring."""
    stats, _ = signin.run_flows(server.port, manifest, targets, count=flows, threads=2)
    if stats.errors:
        raise RuntimeError(f"sign-in flow fails: {stats.first_error}")


def refresh_figure(results, db, phase, name, server, chains, plan):
    """refresh_token with rotation over ``chains``: one wrk connection and thread per
    chain, up to ``plan.connections`` (bench/lua/refresh_token.lua)."""
    threads = min(plan.connections, len(chains))
    return wrk_figure(
        results,
        db,
        phase,
        name,
        "refresh_token.lua",
        server,
        [(t.host, t.authorization, t.refresh_token) for t in chains],
        plan,
        connections=threads,
        threads=threads,
        extra=(str(threads),),
        tenants=len({t.host for t in chains}),
    )


def measure_all(results, database, server, manifest, cc_targets, targets, plan, phase) -> None:
    """The five figures: client_credentials over ``cc_targets``, the rest over ``targets``."""
    db = database.kind
    if phase == "one":  # the stack's floor: no tenant, no database, same hooks and logging
        wrk_figure(
            results,
            db,
            phase,
            "GET /healthz (framework floor)",
            "healthz.lua",
            server,
            [("127.0.0.1",)],
            plan,
            seconds=max(5, plan.seconds // 2),
        )
    for name, path in (
        ("discovery", "/.well-known/openid-configuration"),
        ("JWKS", "/.well-known/jwks.json"),
    ):
        wrk_figure(
            results,
            db,
            phase,
            name,
            "get.lua",
            server,
            [(t.host,) for t in cc_targets],
            plan,
            extra=(path,),
            tenants=len(cc_targets),
        )
    wrk_figure(
        results,
        db,
        phase,
        "client_credentials",
        "client_credentials.lua",
        server,
        cc_rows(server, cc_targets),
        plan,
        tenants=len(cc_targets),
    )
    stats, tokens = signin.run_flows(
        server.port,
        manifest,
        targets,
        seconds=plan.seconds,
        threads=plan.flow_threads,
        user_offset=10,
    )
    # Where a flow's time goes: 20 flows one at a time, so no request waits behind another.
    offset = server.log_offset()
    signin.run_flows(server.port, manifest, targets, count=20, threads=1, user_offset=70)
    steps = server.request_times(offset)
    figure(
        results,
        db,
        phase,
        "sign-in flow (authorize→token)",
        rate=stats.rate,
        p50=stats.percentile(50),
        p99=stats.percentile(99),
        errors=stats.errors,
        first_error=stats.first_error,
        tenants=len(targets),
        steps=steps,
    )
    if len(tokens) < plan.chains:  # top up the token supply
        _, more = signin.run_flows(
            server.port,
            manifest,
            targets,
            count=plan.chains,
            threads=plan.flow_threads,
            user_offset=50,
        )
        tokens += more
    chains = spread(tokens, plan.chains)
    refresh_figure(results, db, phase, "refresh_token (rotation)", server, chains, plan)
    wrk_figure(
        results,
        db,
        phase,
        "userinfo",
        "userinfo.lua",
        server,
        [(t.host, t.access_token) for t in chains],
        plan,
        tenants=len({t.host for t in chains}),
    )
    wrk_figure(
        results,
        db,
        phase,
        "introspection",
        "introspect.lua",
        server,
        [(t.host, t.authorization, t.access_token) for t in chains],
        plan,
        tenants=len({t.host for t in chains}),
    )


def refreshed_id_token_alg(server, chain) -> str:
    """One refresh of ``chain`` (which then holds the new refresh token): the ``alg`` of the
    ID token it returned."""
    import jwt

    browser = signin.Browser(server.port)
    try:
        status, _, text = browser.request(
            "POST",
            chain.host,
            "/oauth2/token",
            {"grant_type": "refresh_token", "refresh_token": chain.refresh_token},
            {"Authorization": chain.authorization},
        )
    finally:
        browser.close()
    if status != 200:
        raise RuntimeError(f"refresh answered {status}: {text}")
    answer = json.loads(text)
    chain.refresh_token = answer["refresh_token"]
    return jwt.get_unverified_header(answer["id_token"])["alg"]


def measure_es256_refresh(results, database, server, manifest, targets, plan) -> None:
    """refresh_token with rotation again, the bench client registered for ES256 ID tokens:
    what a client that registers ES256 gets. The target's figure is RS256, the ID-token
    algorithm of a client that registers none (OpenID Connect Core §3.1.3.7)."""
    harness.set_id_token_alg(database, server, manifest, "ES256")
    try:
        time.sleep(1.5)  # within a second, by the coherence target; a margin on top
        _, tokens = signin.run_flows(
            server.port,
            manifest,
            targets,
            count=plan.chains,
            threads=plan.flow_threads,
            user_offset=90,
        )
        chains = spread(tokens, plan.chains)
        alg = refreshed_id_token_alg(server, chains[0])
        if alg != "ES256":
            raise RuntimeError(f"the server still signs ID tokens with {alg}")
        name = "ES256 ID tokens: refresh_token (rotation)"
        refresh_figure(results, database.kind, "one", name, server, chains, plan)
    finally:
        harness.set_id_token_alg(database, server, manifest, "RS256")


def spread(tokens, n):
    """Up to ``n`` tokens, one per tenant first (so chains cover as many tenants as possible)."""
    by_host = {}
    for t in tokens:
        by_host.setdefault(t.host, []).append(t)
    picked = []
    while len(picked) < n and any(by_host.values()):
        for host in list(by_host):
            if by_host[host] and len(picked) < n:
                picked.append(by_host[host].pop())
    return picked


def warm_jwks(server, targets) -> None:
    """Fetch each tenant's JWKS once (the first one creates its ID-token keys), so the
    "many" JWKS figure measures warm tenants like the other figures."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    for t in targets:
        conn.request("GET", "/.well-known/jwks.json", headers={"Host": t.host})
        conn.getresponse().read()
    conn.close()


def run_database(results, kind: str, plan: Plan, worker: str | None) -> str:
    log(f"== {kind}: fresh database, one tenant with {plan.users_one_tenant} users")
    database = harness.Database.create(kind)
    try:
        manifest = seed(database.url, 1, plan.users_one_tenant, slug_prefix="one")
        if worker is None:
            worker = choose_worker(results, database, manifest, plan)
        results["worker"] = worker
        with harness.Gatehouse(database, worker=worker) as server:
            targets = signin.targets(manifest, server.base_domain)
            warm(server, targets, manifest)
            measure_all(results, database, server, manifest, targets, targets, plan, "one")
            measure_es256_refresh(results, database, server, manifest, targets, plan)
            results.setdefault("rss_mb", {})[f"{kind} one"] = server.worker_rss_mb()

        log(f"== {kind}: seeding {plan.scale_tenants} x {plan.scale_users_per_tenant} users")
        # No past sign-ins for the million users (the one tenant's, and what the first
        # phase wrote, are in the same tables, analysed after this seed).
        scale = seed(
            database.url,
            plan.scale_tenants,
            plan.scale_users_per_tenant,
            slug_prefix="scale",
            history=0,
        )
        results.setdefault("seed", {})[kind] = {
            "tenants": plan.scale_tenants,
            "users": plan.scale_tenants * plan.scale_users_per_tenant,
            "seconds": scale.seconds,
        }
        log(f"seeded in {scale.seconds:.1f}s")
        with harness.Gatehouse(database, worker=worker) as server:
            many = signin.targets(scale, server.base_domain, plan.touch_tenants)
            done, seconds, errors = signin.touch_every_tenant(server, many, plan.touch_budget)
            figure(
                results,
                kind,
                "many",
                f"first grant of a tenant ({done:,} tenants)",
                rate=done / seconds,
                p50=0,
                p99=0,
                errors=errors,
                unit="/s",
                note="includes creating each tenant's signing keys",
            )
            warm_jwks(server, many)  # each tenant's first JWKS makes its RSA keys
            # Those keys change every tenant's configuration, so each snapshot was rebuilt
            # since the grant above, without its client or signing keys read yet (a
            # snapshot reads them on first use). Another grant per tenant makes the
            # rotating figures measure warm tenants, like the one-tenant phase: without it
            # client_credentials over 1,000 tenants read 1,690-1,721/s in its first 6 s,
            # then 2,613-2,716/s (bench/NOTES.md, "Eighth pass").
            signin.touch_every_tenant(server, many, plan.touch_budget)
            flows = many[: plan.flow_tenants]
            warm(server, flows, scale, flows=len(flows))  # each tenant's first ID token
            measure_all(results, database, server, scale, many, flows, plan, "many")
            everyone = signin.targets(scale, server.base_domain)
            done, seconds, errors = signin.touch_every_tenant(server, everyone, plan.touch_budget)
            rss = server.worker_rss_mb()
            results["rss_mb"][f"{kind} after {done:,} tenants"] = rss
            log(
                f"signed for {done} tenants in {seconds:.0f}s ({errors} errors); "
                f"worker RSS {rss:.0f} MB"
            )
            results.setdefault("memory", {})[kind] = {
                "tenants": done,
                "of": len(everyone),
                "rss_mb": rss,
                "seconds": seconds,
                "errors": errors,
            }
    finally:
        database.drop()
    return worker


def noisy_neighbour(results, kind: str, plan: Plan, worker: str) -> list[dict]:
    """Tenant A floods at 10x its token quota next to tenant B (bench/noisy.py)."""
    log(f"== {kind}: noisy neighbour (A floods at 10x its quota, B at a steady rate)")
    rows = noisy.run(kind, seconds=plan.seconds, worker=worker, log=log)
    for row in rows:
        figure(
            results,
            kind,
            "noisy",
            f"B client_credentials: {row['scenario']}",
            rate=row["b_rate"],
            p50=row["b_p50_ms"],
            p99=row["b_p99_ms"],
            errors=row["b_errors"],
        )
    return rows


def profile_hot_paths(plan: Plan) -> dict:
    """SQL statements per request and pyinstrument call trees (bench/profile.py)."""
    log("profiling the hot paths in-process (pyinstrument)")
    out = harness.WORK / "profile.json"
    argv = [sys.executable, "-m", "bench.profile", "--requests", "200" if plan.quick else "1000"]
    subprocess.run(
        ["taskset", "-c", str(harness.SERVER_CORE), *argv, "--json", str(out)],
        cwd=harness.ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return json.loads(out.read_text())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 s runs, 100 tenants")
    parser.add_argument("--seconds", type=int, help="seconds per figure (full mode)")
    parser.add_argument("--db", default="postgresql,sqlite", help="databases, comma-separated")
    parser.add_argument("--worker", choices=harness.WORKERS, help="skip the server choice")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--no-profile", action="store_true", help="skip the pyinstrument pass")
    parser.add_argument("--no-noisy", action="store_true", help="skip the noisy-neighbour figure")
    parser.add_argument("--out", help="where to write the results (markdown)")
    args = parser.parse_args(argv)
    plan = make_plan(args)
    if not harness.wrk_available():
        parser.error("wrk is not installed (apt-get install wrk)")
    harness.pin_self_to_load_core()
    results = {"plan": plan.__dict__, "figures": [], "started": time.time()}
    results["load_before"] = report.loadavg()
    log("argon2id ceiling on the server core")
    results["argon2"] = on_server_core("bench.argon2_ceiling", 3 if plan.quick else 10)
    log(f"argon2id: {results['argon2']['rate']:.1f} verifications/s")
    results["signatures"] = on_server_core("bench.signatures", 2)
    log(
        "signatures/s: "
        + ", ".join(f"{alg} {v['rate']:,.0f}" for alg, v in results["signatures"].items())
    )
    if not args.no_reference:
        reference_cc(results, plan)
    worker = args.worker
    with harness.ServicesOffServerCore() as services:
        results["services_pinned"] = services.pinned
        for kind in [k.strip() for k in args.db.split(",") if k.strip()]:
            worker = run_database(results, kind, plan, worker)
        if not args.no_noisy:
            kind = "postgresql" if "postgresql" in args.db else "sqlite"
            results["noisy"] = noisy_neighbour(results, kind, plan, worker or "granian")
    if "postgresql" in args.db and not args.no_profile:
        results["profile"] = profile_hot_paths(plan)
    results["finished"] = time.time()
    results["load_after"] = report.loadavg()
    default = harness.WORK / "RESULTS.quick.md" if plan.quick else harness.BENCH / "RESULTS.md"
    out = args.out or str(default)
    report.write(results, out)
    (harness.WORK / "results.json").write_text(json.dumps(results, indent=1, default=str))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
