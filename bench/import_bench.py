"""Import 100,000 users into one tenant on PostgreSQL and measure the worker.

    .venv/bin/python -m bench.import_bench [--users 100000] [--sqlite]

Creates its own database (``gh_import_bench``), migrates it, writes a JSON Lines file
(bcrypt, Django and argon2id hashes, metadata, roles, one organization for every tenth
user), runs the import job in this process exactly as ``gatehouse import`` does, samples
the resident set size every 50 ms, then imports the same file again (nothing changes).
Prints the figures as a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import threading
import time
from pathlib import Path

from bench.harness import BENCH_SECRET_KEY
from bench.harness import PG_ADMIN_URL
from bench.harness import ROOT
from bench.harness import VENV_BIN
from bench.harness import WORK

DB_NAME = "gh_import_bench"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    """The highest RSS seen while the job runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = rss_mb()
        self.running = True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.05)

    def stop(self) -> float:
        self.running = False
        self.join()
        return self.peak


def database_url(sqlite: bool) -> str:
    WORK.mkdir(parents=True, exist_ok=True)
    if sqlite:
        path = WORK / "gh_import_bench.sqlite"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"


def write_file(path: Path, count: int) -> None:
    from passlib.hash import bcrypt
    from passlib.hash import django_pbkdf2_sha256

    from tests.support.imports import argon2id_hash

    hashes = [
        bcrypt.using(rounds=10).hash("bench-password-1"),
        django_pbkdf2_sha256.hash("bench-password-2"),
        argon2id_hash("bench-password-3"),
    ]
    with path.open("w") as out:
        for i in range(count):
            record = {
                "email": f"user{i:06d}@import.example",
                "name": f"Imported User {i}",
                "email_verified": i % 2 == 0,
                "external_id": f"legacy-{i}",
                "metadata": {"plan": "pro" if i % 3 else "free", "seq": i},
                "roles": ["member"],
                "password_hash": hashes[i % 3],
            }
            if i % 10 == 0:
                record["organizations"] = [{"org": "eng", "roles": ["member"]}]
            out.write(json.dumps(record) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()

    url = database_url(args.sqlite)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": BENCH_SECRET_KEY,
        "GATEHOUSE_ENV": "production",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [str(VENV_BIN / "gatehouse"), "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ.update(
        {k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "GATEHOUSE_ENV", "LOG_LEVEL")}
    )
    source = WORK / "import_bench.jsonl"
    write_file(source, args.users)

    from app import create_app
    from app.extensions import db
    from app.jobs import imports as runner
    from app.services import orgs
    from app.services import tenants
    from app.services.portability import jobs

    app = create_app()
    rows = []
    with app.app_context():
        tenant = tenants.create_tenant("Import Bench", "import-bench")
        orgs.create_org(tenant, "Engineering", "eng")
        db.session.commit()
        for label in ("first import", "same file again"):
            with source.open("rb") as stream:
                path, size = runner.spool(stream, app.config["IMPORT_MAX_BYTES"])
            job = jobs.create_job(tenant, source.name, path)
            db.session.commit()
            before = rss_mb()
            sampler = Sampler()
            sampler.start()
            started = time.perf_counter()
            job = runner.run(job.id)
            seconds = time.perf_counter() - started
            peak = sampler.stop()
            after = rss_mb()
            rows.append((label, job, seconds, before, peak, after, size))
            tenant = db.session.merge(tenant)
    kind = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"\n### User import, {args.users:,} users, {kind}, one process\n")
    print(
        "| run | status | created | updated | errors | seconds | users/s "
        "| RSS before | RSS peak | RSS after |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, job, seconds, before, peak, after, size in rows:
        print(
            f"| {label} ({size / 1e6:.1f} MB) | {job.status} | {job.created:,} | "
            f"{job.updated:,} | {job.error_count} | {seconds:.1f} | "
            f"{job.processed / seconds:,.0f} | {before:.0f} MB | {peak:.0f} MB | {after:.0f} MB |"
        )


if __name__ == "__main__":
    main()
