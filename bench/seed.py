"""Seed a benchmark database fast: tenants, users, roles and one client per tenant.

Rows go in with bulk writes straight through the DB-API driver — COPY on PostgreSQL,
``executemany`` on SQLite — instead of the ORM, so 10,000 tenants and 1,000,000 users
take seconds, not hours. Every user shares one precomputed argon2id hash made with the
PRODUCTION parameters (so signing in costs exactly one real verification and never a
rehash). Signing keys are NOT seeded: the app creates them on a tenant's first token,
which is the cost the "many tenants" runs measure.

The manifest returned (and written as JSON by the harness) is what the load generators
need: per tenant its slug, client id and client secret; the e-mail pattern and password.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from argon2 import PasswordHasher
from argon2 import Type

PASSWORD = "bench-Passw0rd-correct-horse"
REDIRECT_URI = "http://127.0.0.1:9/callback"
SCOPE = "openid profile email offline_access"
_B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [a + b for a in _B32 for b in _B32]


@dataclass
class Manifest:
    """What the seeded database holds, for the load generators."""

    tenants: list[dict] = field(default_factory=list)  # slug, id, client_id, client_secret
    users_per_tenant: int = 0
    password: str = PASSWORD
    redirect_uri: str = REDIRECT_URI
    scope: str = SCOPE
    seconds: float = 0.0

    @staticmethod
    def email(tenant_index: int, user_index: int) -> str:
        return f"user{user_index}@t{tenant_index}.bench.example.com"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        return cls(**json.loads(text))


class _Ids:
    """Valid prefixed ULIDs, fast: one timestamp and random stem, then a counter."""

    def __init__(self):
        ms = int(time.time() * 1000)
        self.stem = "".join(_B32[(ms >> (5 * (9 - i))) & 31] for i in range(10))
        self.stem += "".join(secrets.choice(_B32) for _ in range(8))
        self.n = 0

    def __call__(self, prefix: str) -> str:
        n = self.n
        self.n += 1
        tail = _PAIRS[(n >> 30) & 1023] + _PAIRS[(n >> 20) & 1023]
        tail += _PAIRS[(n >> 10) & 1023] + _PAIRS[n & 1023]
        return f"{prefix}_{self.stem}{tail}"


def production_hash(password: str = PASSWORD) -> str:
    """One argon2id hash at the production parameters (config.py defaults)."""
    hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)
    return hasher.hash(password)


def client_secret(slug: str) -> str:
    """The bench client's secret for a tenant: 256 bits, reproducible from the slug."""
    return hmac.new(b"gatehouse-bench", slug.encode(), hashlib.sha256).hexdigest()


def secret_digest(secret: str) -> str:
    """How Gatehouse stores a client secret (DESIGN §1: a SHA-256 digest)."""
    from app.security.tokens import digest

    return digest(secret)


def _default(column):
    """A column's Python-side default value (callables are called once: the seeded rows
    always pass their own ids, so a per-row default is never needed)."""
    default = column.default
    if default is None or not (default.is_callable or default.is_scalar):
        return None
    return default.arg(None) if default.is_callable else default.arg


class _Writer:
    """Bulk rows into one table on either backend, filling columns from model defaults.

    ``prepare(fixed, varying)`` returns an appender taking only the varying values, so a
    row costs one list copy: the Python side of seeding a million users stays seconds.
    On PostgreSQL rows are COPY text lines (varying values must be plain strings with no
    tab, newline or backslash, which ids, slugs and e-mails here are).
    """

    def __init__(self, conn, dialect: str, table):
        self.conn, self.dialect, self.table = conn, dialect, table
        self.columns = list(table.columns)
        self.names = [c.name for c in self.columns]
        self.rows: list = []

    def _cell(self, column, value):
        is_json = column.type.__class__.__name__ == "JSON"
        if self.dialect == "sqlite":
            if value is None:
                return None
            if is_json:
                return json.dumps(value)
            if isinstance(value, datetime):
                return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            return int(value) if isinstance(value, bool) else value
        if value is None:
            return "\\N"
        if is_json:
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = "t" if value else "f"
        elif isinstance(value, datetime):
            value = value.isoformat()
        text = str(value)
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")

    def prepare(self, fixed: dict, varying: tuple[str, ...]):
        base = []
        for column in self.columns:
            value = fixed.get(column.name, _default(column)) if column.name not in varying else None
            base.append(self._cell(column, value))
        positions = [self.names.index(name) for name in varying]
        rows = self.rows

        def append(*values):
            row = base.copy()
            for pos, value in zip(positions, values, strict=True):
                row[pos] = value
            rows.append(row)

        return append

    def add(self, **values) -> None:
        """One row with every value given by name (slow path, for the few big-row tables)."""
        self.prepare(values, ())()

    def flush(self) -> None:
        if not self.rows:
            return
        cols = ", ".join(self.names)
        if self.dialect == "postgresql":
            statement = f"COPY {self.table.name} ({cols}) FROM STDIN"
            with self.conn.cursor() as cur, cur.copy(statement) as copy:
                copy.write("".join("\t".join(row) + "\n" for row in self.rows))
        else:
            marks = ", ".join("?" for _ in self.names)
            self.conn.executemany(
                f"INSERT INTO {self.table.name} ({cols}) VALUES ({marks})", self.rows
            )
        self.rows.clear()


def _defer_pg_indexes(conn, tables: tuple[str, ...]) -> list[str]:
    """Drop the plain (non-constraint) indexes of the big tables for the load, and
    return the statements that rebuild them: one sorted build beats a million inserts.
    Foreign-key triggers are skipped for this session (the seed writes parents first)."""
    conn.execute("SET session_replication_role = replica")
    conn.execute("SET maintenance_work_mem = '512MB'")
    rows = conn.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.tablename = ANY(%s) AND NOT EXISTS (
            SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        (list(tables),),
    ).fetchall()
    for name, _ in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in rows]


def _connect(database_url: str):
    if database_url.startswith("sqlite:///"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=30)
        # Seeding only: no fsync and a big page cache (and no journal when nobody else has
        # the file open; the bench restores WAL at the end).
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        with contextlib.suppress(sqlite3.OperationalError):  # in use (tests): stay in WAL
            conn.execute("PRAGMA journal_mode=OFF")
        return conn, "sqlite"
    import psycopg

    dsn = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    return psycopg.connect(dsn), "postgresql"


# Past sign-ins per seeded user: a production database holds them, and PostgreSQL plans
# the token path's statements by its tables' statistics (bench/NOTES.md, "Eighth pass").
HISTORY = 3
# Refresh tokens each past sign-in used (rotated) before it ended.
HISTORY_ROTATIONS = 3


def _past_sign_ins(writers, ids, now: datetime, count: int):
    """An appender of ``count`` finished sign-ins of a user, as a running IdP keeps them
    until they are purged: each an expired browser session, a used authorization code,
    an expired grant and its used refresh tokens (all unusable: nothing the benchmark
    presents can match them)."""
    then = now - timedelta(days=30)
    over = then + timedelta(hours=1)
    session = writers["browser_sessions"].prepare(
        {
            "auth_time": then,
            "last_seen_at": over,
            "expires_at": over,
            "amr": ["pwd"],
            "ip": "127.0.0.1",
            "user_agent": "bench history",
            "created_at": then,
        },
        ("id", "tenant_id", "user_id", "token_digest"),
    )
    code = writers["authorization_codes"].prepare(
        {
            "redirect_uri": REDIRECT_URI,
            "scope": SCOPE,
            "auth_time": then,
            "amr": ["pwd"],
            "expires_at": then + timedelta(minutes=1),
            "created_at": then,
            "resources": [],
        },
        ("id", "tenant_id", "client_id", "user_id", "code_digest"),
    )
    grant = writers["grants"].prepare(
        {
            "scope": SCOPE,
            "auth_time": then,
            "amr": ["pwd"],
            "expires_at": over,
            "created_at": then,
            "resources": [],
        },
        ("id", "tenant_id", "client_id", "user_id", "session_id"),
    )
    token = writers["refresh_tokens"].prepare(
        {"expires_at": over, "used_at": then, "created_at": then},
        ("id", "tenant_id", "grant_id", "token_digest"),
    )

    def add(tenant_id: str, client_id: str, user_id: str) -> None:
        for _ in range(count):
            session_id, grant_id = ids("ses"), ids("gnt")
            session(session_id, tenant_id, user_id, secrets.token_hex(32))
            code(ids("cod"), tenant_id, client_id, user_id, secrets.token_hex(32))
            grant(grant_id, tenant_id, client_id, user_id, session_id)
            for _ in range(HISTORY_ROTATIONS):
                token(ids("rft"), tenant_id, grant_id, secrets.token_hex(32))

    return add


def seed(
    database_url: str,
    tenants: int,
    users_per_tenant: int,
    *,
    password_hash: str | None = None,
    slug_prefix: str = "bench",
    history: int = HISTORY,
) -> Manifest:
    """Insert ``tenants`` tenants with ``users_per_tenant`` users and one client each, and
    ``history`` past sign-ins per user (see :func:`_past_sign_ins`)."""
    import app.models  # noqa: F401  (complete metadata)
    from app.extensions import db
    from app.services.roles import BUILTIN_ORG_ROLES
    from app.services.roles import BUILTIN_TENANT_ROLES

    started = time.perf_counter()
    tables = db.metadata.tables
    ids = _Ids()
    now = datetime.now(UTC)
    pw_hash = password_hash or production_hash()
    manifest = Manifest(users_per_tenant=users_per_tenant)
    conn, dialect = _connect(database_url)
    names = ["tenants", "roles", "clients", "users", "user_roles"]
    if history:  # parents before children (foreign keys): flushed in this order
        names += ["browser_sessions", "authorization_codes", "grants", "refresh_tokens"]
    writers = {name: _Writer(conn, dialect, tables[name]) for name in names}
    past = _past_sign_ins(writers, ids, now, history) if history else None
    add_user = writers["users"].prepare(
        {
            "password_hash": pw_hash,
            "email_verified": True,
            "status": "active",
            "failed_logins": 0,
            "created_at": now,
            "password_changed_at": now,
        },
        ("id", "tenant_id", "email", "name"),
    )
    add_user_role = writers["user_roles"].prepare(
        {"created_at": now}, ("id", "tenant_id", "user_id", "role_id")
    )
    builtin = [("tenant", n, d) for n, d in BUILTIN_TENANT_ROLES.items()]
    builtin += [("org", n, d) for n, d in BUILTIN_ORG_ROLES.items()]
    deferred = _defer_pg_indexes(conn, ("users", "user_roles")) if dialect == "postgresql" else []
    try:
        for t in range(tenants):
            slug = f"{slug_prefix}-{t:05d}"
            tenant_id = ids("ten")
            writers["tenants"].add(
                id=tenant_id,
                slug=slug,
                name=f"Bench {t}",
                status="active",
                settings={},
                created_at=now,
            )
            member_role = None
            for kind, name, description in builtin:
                role_id = ids("rol")
                if kind == "tenant" and name == "member":
                    member_role = role_id
                writers["roles"].add(
                    id=role_id,
                    tenant_id=tenant_id,
                    kind=kind,
                    name=name,
                    description=description,
                    builtin=True,
                    created_at=now,
                )
            client_id = ids("cli")
            secret = client_secret(slug)
            writers["clients"].add(
                id=client_id,
                tenant_id=tenant_id,
                client_name="Bench client",
                secret_digest=secret_digest(secret),
                redirect_uris=[REDIRECT_URI],
                post_logout_redirect_uris=[],
                grant_types=["authorization_code", "refresh_token", "client_credentials"],
                response_types=["code"],
                token_endpoint_auth_method="client_secret_basic",
                scope=SCOPE,
                id_token_signed_response_alg="RS256",
                first_party=True,
                roles=[],
                disabled=False,
                created_at=now,
            )
            manifest.tenants.append(
                {"slug": slug, "id": tenant_id, "client_id": client_id, "client_secret": secret}
            )
            for u in range(users_per_tenant):
                user_id = ids("usr")
                add_user(user_id, tenant_id, f"user{u}@t{t}.bench.example.com", f"User {u}")
                add_user_role(ids("url"), tenant_id, user_id, member_role)
                if past:
                    past(tenant_id, client_id, user_id)
            if len(writers["users"].rows) >= 50_000 or t == tenants - 1:
                for writer in writers.values():  # parents before children (foreign keys)
                    writer.flush()
        for statement in deferred:
            conn.execute(statement)
        conn.commit()
        if dialect == "postgresql":
            conn.autocommit = True
            # Leave nothing for autovacuum to do during the measurements that follow.
            conn.execute("VACUUM (ANALYZE)")
        else:
            conn.execute("ANALYZE")
            conn.commit()
            conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    manifest.seconds = time.perf_counter() - started
    return manifest
