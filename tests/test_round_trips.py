"""Database round trips per protocol request, counted (issue #15): a warm client_credentials
grant 0, a refresh with rotation at most 3 plus COMMIT (the atomic claim kept), userinfo
and introspection 1, discovery and JWKS 0. And a dropped connection is recovered."""

from __future__ import annotations

import contextlib
import os

import pytest
from sqlalchemy import event

from tests.support.database import end_other_sessions
from tests.support.database import is_postgres
from tests.support.oauth import basic_auth
from tests.support.oauth import bearer
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import sign_in

# No poll of the configuration version inside a counted request (it runs at most once per
# interval per worker; app/tenant_cache.py).
pytestmark = pytest.mark.config(TENANT_SYNC_INTERVAL=3600)


@contextlib.contextmanager
def round_trips(app):
    """Statements and COMMITs the app sends to the database inside the block."""
    from app.extensions import db

    seen: list[str] = []

    def statement(conn, cursor, text, params, context, executemany):
        seen.append(" ".join(text.split()))

    def commit(conn):
        # An autocommit connection (read-only requests, app/db_session.py) sends nothing.
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            seen.append("COMMIT")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def _assert_read_then_claim(seen, claimed: str, inserted: list[str], *, at_most: int):
    """A one-use claim (``UPDATE <claimed> … WHERE … used_at IS NULL``) and the rows it
    produces: on PostgreSQL the read, then ONE autocommitted statement (no COMMIT);
    elsewhere at most ``at_most`` statements and a COMMIT."""
    statements = [s for s in seen if s != "COMMIT"]
    assert len(statements) <= at_most and seen.count("COMMIT") <= 1, seen
    if is_postgres():
        assert len(statements) == 2 and "COMMIT" not in seen, seen
        claim = statements[1]
        assert claim.startswith(f"WITH claimed AS (UPDATE {claimed}"), claim
        assert "used_at IS NULL" in claim, claim
        assert all(f"INSERT INTO {table}" in claim for table in inserted), claim
    else:
        assert seen[-1] == "COMMIT", seen
        assert any(
            s.startswith(f"UPDATE {claimed}") and "used_at IS NULL" in s for s in statements
        ), statements


def _service(app, tenant):
    return make_client(
        app, tenant, client_name="Backend", grant_types=["client_credentials"], redirect_uris=[]
    )


def _grant(tc, service):
    return tc.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=basic_auth(service.client_id, service.secret),
    )


def test_client_credentials_touches_no_database_when_warm(app, tenant, tenant_client):
    tc = tenant_client(tenant)
    service = _service(app, tenant)
    assert _grant(tc, service).status_code == 200  # first grant: the tenant's keys
    assert _grant(tc, service).status_code == 200  # snapshot rebuilt after that change
    with round_trips(app) as seen:
        for _ in range(3):
            assert _grant(tc, service).status_code == 200
    assert seen == []


def test_refresh_is_at_most_three_statements_and_a_commit(app, tenant, user, tenant_client):
    """On PostgreSQL two statements and no COMMIT: the read, then the claim of the
    presented token and the INSERT of its successor as one autocommitted statement.
    Elsewhere the claim and the INSERT in a transaction: three and a COMMIT."""
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    rp = make_client(app, tenant)
    tokens = login_tokens(tc, rp)

    def refresh(token):
        return tc.post(
            "/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": token},
            headers=basic_auth(rp.client_id, rp.secret),
        )

    first = refresh(tokens["refresh_token"])
    assert first.status_code == 200
    with round_trips(app) as seen:
        second = refresh(first.get_json()["refresh_token"])
    assert second.status_code == 200, second.get_json()
    # the atomic claim of the presented token is still there, the INSERT behind it
    _assert_read_then_claim(seen, "refresh_tokens", ["refresh_tokens"], at_most=3)
    # and the rotation still holds: the token just used is dead, and reusing it revokes
    assert refresh(first.get_json()["refresh_token"]).status_code == 400
    assert refresh(second.get_json()["refresh_token"]).status_code == 400


def test_userinfo_and_introspection_are_one_query(app, tenant, user, tenant_client):
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    rp = make_client(app, tenant)
    access = login_tokens(tc, rp)["access_token"]
    assert tc.get("/oauth2/userinfo", headers=bearer(access)).status_code == 200  # warm

    with round_trips(app) as seen:
        response = tc.get("/oauth2/userinfo", headers=bearer(access))
    assert response.status_code == 200 and response.get_json()["sub"] == user.id
    assert len(seen) == 1, seen

    def introspect():
        return tc.post(
            "/oauth2/introspect",
            data={"token": access},
            headers=basic_auth(rp.client_id, rp.secret),
        )

    introspect()  # the client is read once per snapshot
    with round_trips(app) as seen:
        response = introspect()
    assert response.get_json()["active"] is True
    assert len(seen) == 1, seen


def test_discovery_and_jwks_are_prepared_bytes_with_etags(app, tenant, tenant_client):
    tc = tenant_client(tenant)
    for path in ("/.well-known/openid-configuration", "/.well-known/jwks.json"):
        tc.get(path)  # the first JWKS makes the tenant's keys (a configuration change)
        tc.get(path)
        with round_trips(app) as seen:
            response = tc.get(path)
            etag = response.headers["ETag"]
            again = tc.get(path, headers={"If-None-Match": etag})
        assert seen == []
        assert response.status_code == 200 and response.get_json()
        assert "max-age=" in response.headers["Cache-Control"]
        assert again.status_code == 304 and again.data == b""
        assert tc.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_jwks_changes_its_etag_when_keys_rotate(app, tenant, tenant_client):
    from app.extensions import db
    from app.services import keys

    tc = tenant_client(tenant)
    before = tc.get("/.well-known/jwks.json")
    with app.app_context():
        keys.rotate_keys(tenant)
        db.session.commit()
    after = tc.get("/.well-known/jwks.json", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert len(after.get_json()["keys"]) > len(before.get_json()["keys"])


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL (pg_terminate_backend)",
)
def test_a_dropped_connection_is_retried_once(app, tenant, user, tenant_client):
    """No pool_pre_ping: the first statement on a dead pooled connection is retried."""

    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    rp = make_client(app, tenant)
    access = login_tokens(tc, rp)["access_token"]
    assert tc.get("/oauth2/userinfo", headers=bearer(access)).status_code == 200
    assert "pool_pre_ping" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]

    # From outside the app's pool: end every other session on this database, so the
    # connections waiting in the app's pool are dead on the server side.
    assert end_other_sessions(app.config["SQLALCHEMY_DATABASE_URI"]) >= 1

    for _ in range(3):  # recovered on the first request, not a 500
        response = tc.get("/oauth2/userinfo", headers=bearer(access))
        assert response.status_code == 200, response.data


def _plan_nodes(node):
    yield node
    for child in node.get("Plans", ()):
        yield from _plan_nodes(child)


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="PostgreSQL's planner",
)
def test_refresh_lookup_reads_the_presented_token_once(app, tenant, user, tenant_client):
    """The refresh read starts from the presented token (its unique digest), whatever the
    statistics say: with statistics taken while the token tables were empty, the flat
    join walked the tenant's refresh tokens once per grant of the tenant (bench: refresh
    on a one-tenant database slowed down with every refresh)."""
    from sqlalchemy import bindparam
    from sqlalchemy import text

    from app.extensions import db
    from app.security.tokens import digest
    from app.services.grants import _presented_refresh

    with app.app_context(), db.engine.connect() as connection:  # stats of empty tables
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM (ANALYZE) refresh_tokens, grants, users"
        )
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    rp = make_client(app, tenant)
    presented = None
    for _ in range(8):  # eight grants, each rotated a few times
        presented = login_tokens(tc, rp)["refresh_token"]
        for _ in range(5):
            presented = _refresh_once(tc, rp, presented)

    with app.app_context():
        stmt = _presented_refresh(bindparam("scope_tenant_id")).params(
            scope_tenant_id=tenant.id, digest=digest(presented)
        )
        sql = str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
        # As the app runs it: a prepared statement (psycopg prepares repeated ones), with
        # the plan PostgreSQL keeps for every execution.
        sql = sql.replace(f"'{tenant.id}'", "$1").replace(f"'{digest(presented)}'", "$2")
        session = db.session
        session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        session.connection().exec_driver_sql(f"PREPARE refresh_probe(varchar, varchar) AS {sql}")
        plan = (
            session.connection()
            .exec_driver_sql(
                "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE refresh_probe"
                f"('{tenant.id}', '{digest(presented)}')"
            )
            .scalar()
        )
        session.connection().exec_driver_sql("DEALLOCATE refresh_probe")
        db.session.rollback()
    nodes = list(_plan_nodes(plan[0]["Plan"]))
    token_reads = [n for n in nodes if n.get("Relation Name") == "refresh_tokens"]
    assert len(token_reads) == 1, token_reads
    assert token_reads[0]["Actual Loops"] == 1, token_reads
    assert token_reads[0].get("Index Name") in (None, "uq_refresh_tokens_token_digest"), token_reads
    assert plan[0]["Plan"]["Actual Rows"] == 1


def _refresh_once(tc, rp, token):
    response = tc.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["refresh_token"]


def test_the_login_page_reads_providers_and_connections_once_per_snapshot(
    app, tenant, tenant_client
):
    """The sign-in page's upstream buttons and its identifier-first switch come from the
    tenant snapshot: a warm GET /login asks the database nothing about them, and a new
    provider (a configuration change) shows at once."""
    from tests.support.api import Api
    from tests.support.api import create_admin_key

    tc = tenant_client(tenant)
    assert tc.get("/login").status_code == 200  # warms the snapshot
    with round_trips(app) as seen:
        page = tc.get("/login")
    assert page.status_code == 200
    assert not [s for s in seen if "upstream_providers" in s or "connections" in s], seen
    created = Api(app, create_admin_key(app)).post(
        f"/tenants/{tenant.slug}/providers",
        json={"kind": "google", "client_id": "g", "client_secret": "s"},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    assert "Continue with Google" in tc.get("/login").get_data(as_text=True)


def test_a_code_exchange_is_at_most_four_statements_and_a_commit(app, tenant, user, tenant_client):
    """On PostgreSQL two statements and no COMMIT: the read, then the claim of the code,
    the grant and its refresh token as one autocommitted statement. Elsewhere four and a
    COMMIT."""
    from tests.support.oauth import exchange
    from tests.support.oauth import get_code

    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    rp = make_client(app, tenant)
    login_tokens(tc, rp)  # first: the tenant's keys are made
    login_tokens(tc, rp)  # warm: the snapshot rebuilt after that change
    code, verifier, _query = get_code(tc, rp)
    with round_trips(app) as seen:
        response = exchange(tc, rp, code, verifier)
    assert response.status_code == 200, response.get_json()
    # the atomic single use of the code, naming the grant, then what it produces
    claimed = "authorization_codes"
    _assert_read_then_claim(seen, claimed, ["grants", "refresh_tokens"], at_most=4)
    reused = exchange(tc, rp, code, verifier)
    assert reused.status_code == 400 and reused.get_json()["error"] == "invalid_grant"
