"""PostgreSQL row-level security, the second wall (issue #16): on a database migrated by
`gatehouse db upgrade` (as the owner), the app connected as a member of ``gatehouse_app``
sees only the current tenant's rows even in a query that forgets the tenant filter, cannot
write another tenant's rows, still serves whole flows within the round-trip budget, and
instance-wide work goes through the explicit bypass. SQLite has no row-level security:
these tests are skipped there (the tenant filter of app.tenancy is its only wall)."""

from __future__ import annotations

import uuid

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app import create_app
from app import rls
from app.extensions import db
from tests.conftest import BASE_DOMAIN
from tests.conftest import DEFAULT_PASSWORD
from tests.conftest import TEST_CONFIG
from tests.support.database import create_test_database
from tests.support.database import is_postgres

pytestmark = pytest.mark.skipif(
    not is_postgres(), reason="row-level security is PostgreSQL's (SQLite: not applicable)"
)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """(owner URL, app-role URL) of a database built by the migrations."""
    url, drop = create_test_database(tmp_path_factory.mktemp("rls"))
    owner = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with owner.app_context():
        upgrade()
        db.engine.dispose()
    login = f"gh_rls_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {login} LOGIN IN ROLE gatehouse_app"))
    app_url = make_url(url).set(username=login).render_as_string(hide_password=False)
    yield url, app_url
    with admin.connect() as conn:
        conn.execute(text(f"DROP ROLE {login}"))
    admin.dispose()
    drop()


@pytest.fixture(scope="module")
def world(migrated):
    """Two tenants, each with a user and a client, made by the owner."""
    from app.services import clients
    from app.services import tenants
    from app.services import users

    owner = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": migrated[0]})
    made = {}
    with owner.app_context():
        for slug in ("acme-corp", "globex"):
            tenant = tenants.create_tenant(slug.title(), slug)
            user = users.create_user(tenant, f"ada@{slug}.example", password=DEFAULT_PASSWORD)
            client, secret = clients.create_client(
                tenant,
                {
                    "client_name": "App",
                    "redirect_uris": ["https://app.example.com/callback"],
                    "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                    "scope": "openid profile email offline_access",
                    "first_party": True,
                },
            )
            db.session.commit()
            made[slug] = (tenant.id, user.id, client.id, secret)
        db.engine.dispose()
    return made


@pytest.fixture
def app_role(migrated, world):
    # No worker pass inside requests here: its bypassing connection would go back to the
    # pool and cost the next tenant request a switch (production runs workers apart).
    # No configuration poll inside a counted request either (as in test_round_trips.py).
    application = create_app(
        {
            **TEST_CONFIG,
            "SQLALCHEMY_DATABASE_URI": migrated[1],
            "OUTBOX_DRAIN_ON_COMMIT": False,
            "TENANT_SYNC_INTERVAL": 3600,
        }
    )
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _emails(model_query):
    return sorted(u.email for u in db.session.scalars(model_query))


def test_the_app_role_is_not_the_owner(app_role):
    with app_role.app_context():
        row = db.session.execute(
            text(
                "SELECT r.rolsuper, r.rolbypassrls, pg_has_role(current_user, t.tableowner, "
                "'USAGE') FROM pg_roles r, pg_tables t "
                "WHERE r.rolname = current_user AND t.tablename = 'users'"
            )
        ).one()
        assert tuple(row) == (False, False, False)


def test_a_query_that_forgets_the_tenant_filter_sees_only_the_requests_tenant(app_role, world):
    from app.models import Client
    from app.models import User

    for slug in ("acme-corp", "globex"):
        host = f"{slug}.{BASE_DOMAIN}"
        with app_role.test_request_context("/login", headers={"Host": host}):
            app_role.preprocess_request()  # the real before_request: resolves the tenant
            # No WHERE tenant_id: PostgreSQL filters anyway.
            assert _emails(select(User)) == [f"ada@{slug}.example"]
            assert list(db.session.scalars(select(Client.id))) == [world[slug][2]]
            count = db.session.execute(text("SELECT count(*) FROM users")).scalar()
            assert count == 1


def test_no_tenant_no_rows_and_the_bypass_sees_all(app_role):
    from app.models import User

    with app_role.app_context():
        assert _emails(select(User)) == []  # nothing named: nothing visible
        db.session.rollback()
        rls.bypass("test: instance-wide read")
        assert _emails(select(User)) == ["ada@acme-corp.example", "ada@globex.example"]
        assert rls.is_bypassed()


def test_writing_another_tenants_row_is_refused(app_role, world):
    from app.models import User

    with app_role.app_context():
        rls.use_tenant(world["acme-corp"][0])
        db.session.add(User(tenant_id=world["globex"][0], email="mallory@globex.example"))
        with pytest.raises(DBAPIError, match="row-level security"):
            db.session.flush()
        db.session.rollback()


def test_every_tenant_owned_table_has_the_policy(app_role):
    tables = {t.name for t in db.metadata.sorted_tables if "tenant_id" in t.c}
    with app_role.app_context():
        rows = db.session.execute(
            text(
                "SELECT c.relname, c.relrowsecurity FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
        ).all()
        secured = {name for name, on in rows if on}
        policies = set(
            db.session.scalars(
                text("SELECT tablename FROM pg_policies WHERE policyname = 'tenant_isolation'")
            )
        )
    assert tables and tables <= secured and tables <= policies, tables - (secured & policies)


def test_flows_work_as_the_app_role_within_the_round_trip_budget(app_role, world):
    from tests.support.oauth import bearer
    from tests.test_round_trips import round_trips

    user_id = world["acme-corp"][1]
    tc, auth, tokens = _signed_in_tokens(app_role, "acme-corp", world)

    def refresh(token):
        return tc.post(
            "/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": token},
            headers=auth,
        )

    first = refresh(tokens["refresh_token"]).get_json()
    with round_trips(app_role) as seen:
        second = refresh(first["refresh_token"])
    # the read, then the claim with its successor's INSERT: autocommitted, one statement
    assert second.status_code == 200 and len(seen) == 2 and "COMMIT" not in seen, seen
    access = second.get_json()["access_token"]
    assert tc.get("/oauth2/userinfo", headers=bearer(access)).get_json()["sub"] == user_id
    with round_trips(app_role) as seen:
        answer = tc.get("/oauth2/userinfo", headers=bearer(access))
    assert answer.status_code == 200 and len(seen) == 1, seen
    grant = {"grant_type": "client_credentials"}
    tc.post("/oauth2/token", data=grant, headers=auth)
    with round_trips(app_role) as seen:
        answer = tc.post("/oauth2/token", data=grant, headers=auth)
    assert answer.status_code == 200 and seen == []
    # Another tenant's refresh token is nobody's here.
    assert refresh("rt_" + "x" * 43).status_code == 400


def test_the_worker_the_cli_and_an_instance_key_bypass_explicitly(
    app_role, migrated, world, caplog
):
    from app import worker
    from tests.support.api import create_admin_key

    # `gatehouse admin-key create` (the CLI's app is the operator's tool) as the app role.
    cli = create_app(
        {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": migrated[1], "RLS_OPERATOR_TOOL": True}
    )
    key = create_admin_key(cli)
    with cli.app_context():
        db.engine.dispose()
    response = app_role.test_client().get(
        "/v2/admin/tenants/globex/users",
        headers={"Host": BASE_DOMAIN, "Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [u["email"] for u in response.get_json()["items"]] == ["ada@globex.example"]
    with caplog.at_level("DEBUG", logger="gatehouse.rls"), app_role.app_context():
        worker.run_once()
    # Routine (every second): logged at DEBUG, not a line a second at INFO.
    assert [r.levelname for r in caplog.records if "bypassed: worker" in r.message] == ["DEBUG"]


def test_the_kept_connection_switches_tenant_between_requests(app_role, world):
    """Introspection of two tenants' tokens in turn, on the one connection the thread
    keeps (app/db_session.py): each read sees its own tenant's revocations. With the
    previous request's tenant still set, a revoked token's revocation row would be
    invisible and the token would look active."""
    from tests.support.http import TenantClient
    from tests.support.oauth import basic_auth
    from tests.test_read_path import checkouts

    clients, tokens = {}, {}
    for slug in ("acme-corp", "globex"):
        _tenant_id, _user_id, client_id, secret = world[slug]
        tc = TenantClient(app_role.test_client(), f"{slug}.{BASE_DOMAIN}")
        auth = basic_auth(client_id, secret)
        clients[slug] = (tc, auth)
        grant = {"grant_type": "client_credentials"}
        live, revoked = (
            tc.post("/oauth2/token", data=grant, headers=auth).get_json()["access_token"]
            for _ in range(2)
        )
        answer = tc.post(
            "/oauth2/revoke",
            data={"token": revoked, "token_type_hint": "access_token"},
            headers=auth,
        )
        assert answer.status_code == 200
        tokens[slug] = {"live": live, "revoked": revoked}

    def active(slug, which) -> bool:
        tc, auth = clients[slug]
        answer = tc.post("/oauth2/introspect", data={"token": tokens[slug][which]}, headers=auth)
        return answer.get_json()["active"]

    asked = [("acme-corp", "live"), ("globex", "live")]  # warm: each client read once
    assert [active(*pair) for pair in asked] == [True, True]
    asked = [(slug, which) for which in ("revoked", "live") for slug in ("acme-corp", "globex")] * 2
    with checkouts(app_role) as seen:
        answers = [active(*pair) for pair in asked]
    assert answers == [which == "live" for _slug, which in asked]
    assert seen == []  # all on the kept connection (Authlib answers the revoked ones)


def _signed_in_tokens(app, slug: str, world) -> tuple:
    """A browser signed in at ``slug`` with its password, and the tokens of a code flow:
    (tenant client, basic auth, token response)."""
    from tests.support.http import TenantClient
    from tests.support.http import csrf_from
    from tests.support.oauth import RegisteredClient
    from tests.support.oauth import basic_auth
    from tests.support.oauth import exchange
    from tests.support.oauth import get_code

    _tenant_id, _user_id, client_id, secret = world[slug]
    rp = RegisteredClient(client_id, secret, "https://app.example.com/callback")
    tc = TenantClient(app.test_client(), f"{slug}.{BASE_DOMAIN}")
    page = tc.get("/login")
    signed = tc.post(
        "/login",
        data={
            "email": f"ada@{slug}.example",
            "password": DEFAULT_PASSWORD,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert signed.status_code in (302, 303), signed.get_data(as_text=True)[:500]
    code, verifier, _ = get_code(tc, rp)
    return tc, basic_auth(client_id, secret), exchange(tc, rp, code, verifier).get_json()


def test_refresh_and_userinfo_switch_tenants_on_the_kept_connection(app_role, world):
    """Refresh rotations (a write) and userinfo (a read) of two tenants in turn, on the one
    connection the thread keeps: each switch sends the tenant's setting and the statement
    in one message (an EXECUTE of the statement PREPAREd on that connection), and each
    request sees its own tenant's rows: the rotation takes the token once, userinfo names
    the tenant's own user."""
    from app.db_session import _local
    from app.extensions import db
    from tests.support.oauth import bearer
    from tests.test_read_path import checkouts

    slugs = ("acme-corp", "globex")
    signed = {slug: _signed_in_tokens(app_role, slug, world) for slug in slugs}
    current = {slug: signed[slug][2]["refresh_token"] for slug in slugs}

    def refresh(slug, token):
        tc, auth, _ = signed[slug]
        data = {"grant_type": "refresh_token", "refresh_token": token}
        return tc.post("/oauth2/token", data=data, headers=auth)

    for slug in slugs:  # warm: each client and statement once
        current[slug] = refresh(slug, current[slug]).get_json()["refresh_token"]
    with checkouts(app_role) as seen:
        for _ in range(3):
            for slug in slugs:
                answer = refresh(slug, current[slug])
                assert answer.status_code == 200, answer.get_json()
                body = answer.get_json()
                current[slug] = body["refresh_token"]
                tc = signed[slug][0]
                info = tc.get("/oauth2/userinfo", headers=bearer(body["access_token"]))
                assert info.status_code == 200
                assert info.get_json()["sub"] == world[slug][1]
    assert seen == []  # every statement on the kept connection
    with app_role.app_context():
        kept = _local.kept[db.engine]
        names = {row[0] for row in kept.dbapi.execute("SELECT name FROM pg_prepared_statements")}
    assert {n for n in names if n.startswith("gh_hot_")}, names  # the switches' statements
    kept.connection.info.pop("gatehouse.server_prepared")  # forgotten: PREPARE meets its twin
    for slug in slugs:
        answer = refresh(slug, current[slug])
        assert answer.status_code == 200, answer.get_json()
        current[slug] = answer.get_json()["refresh_token"]
    # A rotated token is spent in its own tenant only: replaying it revokes its family.
    first_slug = slugs[0]
    spent = signed[first_slug][2]["refresh_token"]
    assert refresh(first_slug, spent).get_json()["error"] == "invalid_grant"
    assert refresh(first_slug, current[first_slug]).get_json()["error"] == "invalid_grant"
    assert refresh(slugs[1], current[slugs[1]]).status_code == 200
