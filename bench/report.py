"""bench/RESULTS.md: the machine, the versions, every figure and the targets met or missed."""

from __future__ import annotations

import os
import platform
import re
import sqlite3
import subprocess
import time
from importlib import metadata
from pathlib import Path

from bench import harness

# Issue #15: per worker core, PostgreSQL, same run.
TARGET_REFRESH = 800
TARGET_READ = 2000
TARGET_PUBLIC = 3000
TARGET_SIGNIN_SHARE = 0.75
TARGET_SCALE_SHARE = 0.90
TARGET_RSS_MB = 250


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _cmd(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "n/a"


def machine() -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    mhz = re.search(r"cpu MHz\s*:\s*(.+)", cpuinfo)
    mem = re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text())
    return [
        f"- CPU: {model.group(1) if model else 'unknown'}"
        + (f" ({float(mhz.group(1)):.0f} MHz)" if mhz else "")
        + f", nproc {os.cpu_count()}",
        f"- RAM: {int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "- RAM: unknown",
        f"- Kernel: {platform.release()}",
    ]


def versions() -> list[str]:
    def pkg(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "n/a"

    py = ", ".join(
        f"{n} {pkg(n)}"
        for n in (
            "flask",
            "sqlalchemy",
            "authlib",
            "pyjwt",
            "cryptography",
            "argon2-cffi",
            "psycopg",
            "gunicorn",
            "granian",
        )
    )
    ref = harness.BENCH / "reference" / "node_modules" / "oidc-provider" / "package.json"
    ref_version = "not installed"
    if ref.exists():
        import json

        ref_version = json.loads(ref.read_text())["version"]
    git = _cmd(["git", "-C", str(harness.ROOT), "rev-parse", "--short", "HEAD"])
    dirty = _cmd(["git", "-C", str(harness.ROOT), "status", "--porcelain"]) != "n/a"
    return [
        f"- Gatehouse: git {git}{' + uncommitted changes' if dirty else ''}",
        f"- Python {platform.python_version()}: {py}",
        f"- PostgreSQL: {_cmd(['psql', '--version'])} (server on 127.0.0.1:5432);"
        f" SQLite {sqlite3.sqlite_version}",
        f"- Node {_cmd(['node', '--version'])}, oidc-provider {ref_version}",
        f"- Load generator: {_cmd(['wrk', '-v'])}",
    ]


def _find(results, db, phase, name):
    for row in results["figures"]:
        if row["db"] == db and row["phase"] == phase and row["name"].startswith(name):
            return row
    return None


def _fmt(row) -> str:
    if row is None:
        return "| n/a | | | |"
    p50 = f"{row['p50_ms']:.2f}" if row["p50_ms"] else "–"
    p99 = f"{row['p99_ms']:.2f}" if row["p99_ms"] else "–"
    return f"| {row['rate']:,.1f} | {p50} | {p99} | {row['errors']} |"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def targets(results) -> list[str]:
    lines = ["| target | measured | verdict |", "|---|---|---|"]
    ref = _find(results, "memory", "one", "oidc-provider")
    argon = results.get("argon2", {}).get("rate")
    for db in ("postgresql", "sqlite"):
        cc = _find(results, db, "one", "client_credentials")
        if cc is None:
            continue
        if ref:
            ratio = cc["rate"] / ref["rate"]
            lines.append(
                f"| {db}: client_credentials ≥ oidc-provider (ratio ≥ 1.0) | "
                f"{cc['rate']:,.0f} / {ref['rate']:,.0f} = **{ratio:.2f}** | "
                f"{_verdict(ratio >= 1.0)} ({(ratio - 1) * 100:+.0f}%) |"
            )
        rt = _find(results, db, "one", "refresh_token")
        if rt and db == "postgresql":
            lines.append(
                f"| {db}: refresh_token with rotation ≥ {TARGET_REFRESH}/s | {rt['rate']:,.0f}/s | "
                f"{_verdict(rt['rate'] >= TARGET_REFRESH)} "
                f"({(rt['rate'] / TARGET_REFRESH - 1) * 100:+.0f}%) |"
            )
        elif rt:
            lines.append(
                f"| {db}: refresh_token with rotation (target is for PostgreSQL) | "
                f"{rt['rate']:,.0f}/s | – |"
            )
        es = _find(results, db, "one", "ES256 ID tokens")
        if es:
            lines.append(
                f"| {db}: refresh_token, a client registered for ES256 ID tokens (reference: "
                f"the target is the default RS256's) | {es['rate']:,.0f}/s | – "
                f"({(es['rate'] / TARGET_REFRESH - 1) * 100:+.0f}% of {TARGET_REFRESH}/s) |"
            )
        si = _find(results, db, "one", "sign-in")
        if si and argon:
            share = si["rate"] / argon
            lines.append(
                f"| {db}: sign-in flows ≥ 75% of argon2 ceiling ({argon:.1f}/s) | "
                f"{si['rate']:.1f}/s = **{share:.0%}** | {_verdict(share >= TARGET_SIGNIN_SHARE)} |"
            )
        for name in ("userinfo", "introspection"):
            row = _find(results, db, "one", name)
            if row:
                lines.append(
                    f"| {db}: {name} ≥ {TARGET_READ:,}/s | {row['rate']:,.0f}/s | "
                    f"{_verdict(row['rate'] >= TARGET_READ)} "
                    f"({(row['rate'] / TARGET_READ - 1) * 100:+.0f}%) |"
                )
        for name in ("discovery", "JWKS"):
            row = _find(results, db, "one", name)
            if row:
                lines.append(
                    f"| {db}: {name} ≥ {TARGET_PUBLIC:,}/s | {row['rate']:,.0f}/s | "
                    f"{_verdict(row['rate'] >= TARGET_PUBLIC)} "
                    f"({(row['rate'] / TARGET_PUBLIC - 1) * 100:+.0f}%) |"
                )
        for name in ("client_credentials", "sign-in", "refresh_token", "userinfo", "introspection"):
            one, many = _find(results, db, "one", name), _find(results, db, "many", name)
            if one and many and one["rate"]:
                share = many["rate"] / one["rate"]
                tenants = many.get("tenants") or "many"
                lines.append(
                    f"| {db}: {name}, {tenants} tenants rotating, within 10% of one | "
                    f"{many['rate']:,.1f} vs {one['rate']:,.1f} = {share:.0%} | "
                    f"{_verdict(share >= TARGET_SCALE_SHARE)} |"
                )
        mem = results.get("memory", {}).get(db)
        if mem:
            of = f" of {mem['of']:,}" if mem.get("of", mem["tenants"]) != mem["tenants"] else ""
            lines.append(
                f"| {db}: worker RSS after signing for {mem['tenants']:,}{of} tenants < "
                f"{TARGET_RSS_MB} MB | {mem['rss_mb']:.0f} MB | "
                f"{_verdict(mem['rss_mb'] < TARGET_RSS_MB)} |"
            )
    return lines


def _signatures(results) -> list[str]:
    """The machine's signing speed on the server core (bench/signatures.py): a refresh
    signs an RS256 ID token and an ES256 access token, so this bounds it on this machine."""
    sigs = results.get("signatures")
    if not sigs:
        return []
    rs, es = sigs["RS256"], sigs["ES256"]
    return [
        "",
        f"Signatures on the same core (`cryptography`): RS256 with RSA-2048 "
        f"**{rs['rate']:,.0f}/s** ({rs['ms']:.2f} ms), ES256 {es['rate']:,.0f}/s "
        f"({es['ms']:.3f} ms). A refresh of a client with RS256 ID tokens signs one of "
        f"each, so its RS256 signature alone allows at most {rs['rate']:,.0f} refreshes/s "
        "on this machine, before any other work.",
    ]


def write(results: dict, out: str) -> None:
    plan = results["plan"]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(results["started"]))
    minutes = (results["finished"] - results["started"]) / 60
    argon = results.get("argon2", {})
    lines = [
        "# Gatehouse benchmark results",
        "",
        f"Written by `python -m bench{' --quick' if plan['quick'] else ''}` "
        f"(`make bench`) on {started}; the run took {minutes:.1f} min.",
        "",
        "## Machine",
        "",
        *machine(),
        f"- Load average before the run: {results['load_before']}, after: "
        f"{results['load_after']}"
        + (
            " — **the machine was busy with other work: figures are noisy**"
            if _busy(results)
            else ""
        ),
        "",
        "## Versions",
        "",
        *versions(),
        "",
        "## Method",
        "",
        f"- Server: Gatehouse with ONE worker of the server the run chose by measurement "
        f"(`{results.get('worker', '?')}`; gunicorn sync, gunicorn gthread and granian WSGI "
        f"with {harness.GRANIAN_BLOCKING_THREADS} blocking threads, as deploy/granian.env, "
        "are compared in the `worker` rows), pinned "
        f"with `taskset -c {harness.SERVER_CORE}` (the reference oidc-provider on the same core). "
        f"Load generator: wrk (`-c{plan['connections']}`, Lua scripts in bench/lua) and the "
        f"sign-in client (bench/signin.py, {plan['flow_threads']} threads) pinned to core "
        f"{harness.LOAD_CORE}.",
        f"- {plan['seconds']} s per figure. `wsgi:app` with `GATEHOUSE_ENV=production`, "
        "JSON request logs at INFO (to a file), the per-IP sign-in limit raised "
        "(`LOGIN_RATE_LIMIT`: every request comes from 127.0.0.1); per-account limits as "
        "configured. "
        + (
            f"PostgreSQL's and Redis's processes pinned to core {harness.LOAD_CORE} for the "
            "run (a database beside the worker, not on its core; bench/harness.py)."
            if results.get("services_pinned")
            else "PostgreSQL's own processes are not pinned (they float over both cores)."
        ),
        f'- "one": a fresh database with one tenant ({plan["users_one_tenant"]:,} users). '
        f'"many": after seeding {plan["scale_tenants"]:,} tenants x '
        f"{plan['scale_users_per_tenant']} users into the same database, each figure rotates "
        f"over {plan['touch_tenants']:,} tenants' clients (Host `<slug>.localhost:<port>`); "
        "refresh/userinfo/introspection over one token chain per tenant, "
        f"{plan['chains']} tenants.",
        "- Sign-in flow = GET /oauth2/authorize (PKCE S256) → GET /login → POST /login "
        "(argon2id at m=19456, t=2, p=1) → GET /oauth2/authorize → POST /oauth2/token; "
        "p50/p99 are per whole flow (5 requests).",
        "- refresh_token: each request presents the token returned by the previous one of its "
        "chain (rotation written to the database; a reuse would revoke the family).",
        "",
        "## Figures",
        "",
        f"argon2id ceiling (one core, {argon.get('params', '')}): "
        f"**{argon.get('rate', 0):.1f} verifications/s** (p50 {argon.get('p50_ms', 0):.1f} ms).",
        *_signatures(results),
        "",
        "| database | tenants | figure | per second | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["figures"]:
        who = row["db"] if row["db"] != "memory" else "(in memory)"
        lines.append(f"| {who} | {row['phase']} | {row['name']} {_fmt(row)}")
    steps = [r for r in results["figures"] if r.get("steps")]
    if steps:
        lines += [
            "",
            "Where a sign-in flow's time goes: median server-side ms per request (the app's "
            "JSON request log) over 20 flows run one at a time; GET /oauth2/authorize is "
            "visited twice per flow (to /login, then to the code):",
            "",
            "| database | tenants | " + " | ".join(steps[0]["steps"]) + " |",
            "|---|---|" + "---|" * len(steps[0]["steps"]),
        ]
        for row in steps:
            cells = " | ".join(f"{row['steps'].get(k, 0):.1f}" for k in steps[0]["steps"])
            lines.append(f"| {row['db']} | {row['phase']} | {cells} |")
    noisy = results.get("noisy")
    if noisy:
        lines += [
            "",
            "## Noisy neighbour (bench/noisy.py)",
            "",
            "Tenant A floods `/oauth2/token` at 10x its `token_requests_per_second` while tenant "
            "B sends client_credentials grants at a steady rate (paced; latency counted from "
            "each request's scheduled time), on the same single worker. Target: B within 10% "
            "of B alone.",
            "",
            "| scenario | B per second | B p50 ms | B p99 ms | B vs alone (rate, p99) "
            "| A sent /s | A answered 200 /s | A 429s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in noisy:
            ratio = (
                f"{row['b_rate_vs_alone']:.0%}, {row['b_p99_vs_alone']:.2f}x"
                if "b_rate_vs_alone" in row
                else "—"
            )
            lines.append(
                f"| {row['scenario']} | {row['b_rate']:.1f} | {row['b_p50_ms']:.2f} | "
                f"{row['b_p99_ms']:.2f} | {ratio} | {row['a_sent_rate']:.1f} | "
                f"{row['a_ok_rate']:.1f} | {row['a_429']} |"
            )
    lines += ["", "## Scale", ""]
    for db, info in results.get("seed", {}).items():
        lines.append(
            f"- {db}: seeded {info['tenants']:,} tenants and {info['users']:,} users in "
            f"{info['seconds']:.1f} s (bench/seed.py)."
        )
    for key, rss in results.get("rss_mb", {}).items():
        lines.append(f"- worker RSS ({key}): {rss:.0f} MB")
    profile = results.get("profile")
    if profile:
        lines += [
            "",
            "## Database round trips per request (PostgreSQL, bench/profile.py)",
            "",
            "| request | SQL statements (+ COMMIT) | which | call tree |",
            "|---|---|---|---|",
        ]
        for name, info in profile.items():
            lines.append(
                f"| {name} | {info['statements']} | {', '.join(info['queries'])} | "
                f"`{info['call_tree']}` |"
            )
    lines += ["", "## Targets", "", *targets(results), ""]
    errors = [r for r in results["figures"] if r.get("first_error")]
    for row in errors:
        lines.append(
            f"- first error in {row['db']} {row['phase']} {row['name']}: `{row['first_error']}`"
        )
    notes = harness.BENCH / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().strip(), ""]
    Path(out).write_text("\n".join(lines) + "\n")


def _busy(results) -> bool:
    try:
        return float(results["load_before"].split()[0]) > 0.5
    except (IndexError, ValueError):
        return False
