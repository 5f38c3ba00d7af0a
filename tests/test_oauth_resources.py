"""RFC 8707 resource indicators through the real protocol endpoints (issue #17): ``aud`` and
``scope`` of tokens for an API, invalid_target (also across tenants), refresh narrowing and
recomputation (roles, organization), client_credentials bounded by resource_grants,
introspection, per-resource lifetimes, custom claims, and tokens without ``resource``
unchanged."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Tenant
from app.services import orgs
from app.services import permissions
from app.services import resources
from app.services import roles
from app.services import settings as settings_service
from app.services import users
from tests.support.oauth import REDIRECT_URI
from tests.support.oauth import basic_auth
from tests.support.oauth import claims_of
from tests.support.oauth import exchange
from tests.support.oauth import get_code
from tests.support.oauth import introspect
from tests.support.oauth import make_client
from tests.support.oauth import query_of
from tests.support.oauth import refresh
from tests.support.oauth import sign_in

INVOICES = "https://api.acme.example/invoices"
REPORTS = "https://api.acme.example/reports"
OIDC = "openid profile email offline_access"


def _define(app, tenant_id, identifier=INVOICES, names=("read", "write", "approve"), ttl=None):
    with app.app_context():
        t = db.session.get(Tenant, tenant_id)
        resource = resources.create_resource(
            t,
            {
                "identifier": identifier,
                "name": identifier.rsplit("/", 1)[-1],
                "permissions": [{"name": n} for n in names],
                "access_token_ttl_seconds": ttl,
            },
        )
        db.session.commit()
        return resource.id


def _give(app, tenant_id, role_name, entries, kind="tenant"):
    """Replace a role's permissions with ``[(identifier, permission)]``."""
    with app.app_context():
        t = db.session.get(Tenant, tenant_id)
        role = roles.get_role(t, role_name, kind)
        permissions.set_role_permissions(
            t, role, [{"resource": r, "permission": p} for r, p in entries]
        )
        db.session.commit()


@pytest.fixture
def browser(app, tenant, user, tenant_client):
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    return tc


def _tokens(tc, client, *, token_resource=None, **authorize):
    code, verifier, _ = get_code(tc, client, **authorize)
    extra = {"resource": token_resource} if token_resource else {}
    response = exchange(tc, client, code, verifier, **extra)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_token_for_a_resource_has_its_aud_and_requested_and_effective_scope(
    app, tenant, browser, rp
):
    _define(app, tenant.id)
    _give(app, tenant.id, "member", [(INVOICES, "read"), (INVOICES, "write")])
    body = _tokens(
        browser,
        rp,
        scope=f"{OIDC} read approve",
        resource=INVOICES,
        token_resource=INVOICES,
    )
    claims = claims_of(body["access_token"])
    assert claims["aud"] == INVOICES and claims["client_id"] == rp.client_id
    assert claims["scope"] == "read"  # asked: read, approve; held: read, write
    assert body["scope"] == "read"
    assert claims["tenant_id"] == tenant.id and claims["roles"] == ["member"]
    # The ID token is still for the client, about the OIDC scopes.
    id_claims = claims_of(body["id_token"])
    assert id_claims["aud"] == rp.client_id and id_claims["email"]

    # Nothing of the resource asked: every effective permission of it.
    body = _tokens(browser, rp, scope=OIDC, resource=INVOICES, token_resource=INVOICES)
    assert claims_of(body["access_token"])["scope"] == "read write"


def test_without_resource_at_the_token_endpoint_the_token_is_as_today(app, tenant, browser, rp):
    baseline = claims_of(_tokens(browser, rp)["access_token"])
    _define(app, tenant.id)
    _give(app, tenant.id, "member", [(INVOICES, "read")])
    body = _tokens(browser, rp, scope=f"{OIDC} read", resource=INVOICES)
    claims = claims_of(body["access_token"])
    assert claims["aud"] == rp.client_id
    assert claims["scope"] == OIDC  # API permissions stay out of the client's own token
    assert set(claims) == set(baseline) and claims["roles"] == baseline["roles"]


def test_unknown_and_foreign_resources_are_invalid_target(app, tenant, other_tenant, browser, rp):
    _define(app, other_tenant.id, identifier="https://api.globex.example")
    for target in ("https://api.globex.example", "https://nowhere.example", "not a uri"):
        from tests.support.oauth import authorize

        response = authorize(browser, rp, resource=target)
        assert response.status_code == 302
        query = query_of(response)
        assert query["error"] == "invalid_target", query
        assert response.headers["Location"].startswith(REDIRECT_URI)

    # The token endpoint: a resource not named at authorization is invalid_target too.
    _define(app, tenant.id)
    code, verifier, _ = get_code(browser, rp)
    refused = exchange(browser, rp, code, verifier, resource=INVOICES)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_target"


def test_same_identifier_in_two_tenants_is_two_resources(
    app, tenant, other_tenant, user, make_user, tenant_client
):
    """Tenant B defines the identifier A uses: at B it is B's resource, with B's roles and
    B's issuer; a verifier trusting A refuses B's token for it."""
    from gatehouse_sdk import InvalidToken
    from gatehouse_sdk import TokenVerifier

    _define(app, tenant.id, names=("read",))
    _define(app, other_tenant.id, names=("read", "delete"))
    _give(app, tenant.id, "member", [(INVOICES, "read")])
    _give(app, other_tenant.id, "member", [(INVOICES, "delete")])
    bob = make_user(other_tenant, "bob@globex.example")
    tc = tenant_client(other_tenant)
    sign_in(app, tc, other_tenant, bob)
    theirs = make_client(app, other_tenant)
    body = _tokens(tc, theirs, resource=INVOICES, token_resource=INVOICES)
    claims = claims_of(body["access_token"])
    assert claims["aud"] == INVOICES and claims["scope"] == "delete"
    assert claims["tenant_id"] == other_tenant.id

    from tests.conftest import host_of

    verifier = TokenVerifier([f"http://{host_of(tenant)}"], audience=INVOICES)
    with pytest.raises(InvalidToken, match="issuer"):
        verifier.verify(body["access_token"])


def test_refresh_narrows_to_a_granted_resource_and_sees_role_changes(app, tenant, browser, rp):
    _define(app, tenant.id)
    _define(app, tenant.id, identifier=REPORTS, names=("view",))
    _define(app, tenant.id, identifier="https://api.acme.example/other", names=("x",))
    _give(app, tenant.id, "member", [(INVOICES, "read"), (REPORTS, "view")])
    body = _tokens(browser, rp, resource=[INVOICES, REPORTS])
    token = body["refresh_token"]

    for identifier, expected in ((REPORTS, "view"), (INVOICES, "read")):
        response = refresh(browser, rp, token, resource=identifier)
        assert response.status_code == 200, response.get_json()
        token = response.get_json()["refresh_token"]
        claims = claims_of(response.get_json()["access_token"])
        assert (claims["aud"], claims["scope"]) == (identifier, expected)

    # A resource that was not granted at authorization (RFC 8707 §2.2).
    refused = refresh(browser, rp, token, resource="https://api.acme.example/other")
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_target"

    # A role change shows in the next refresh.
    _give(app, tenant.id, "member", [(INVOICES, "read"), (INVOICES, "approve")])
    response = refresh(browser, rp, token, resource=INVOICES)
    assert claims_of(response.get_json()["access_token"])["scope"] == "read approve"
    token = response.get_json()["refresh_token"]
    _give(app, tenant.id, "member", [])
    response = refresh(browser, rp, token, resource=INVOICES)
    assert claims_of(response.get_json()["access_token"])["scope"] == ""
    # Without resource the refresh still gives the client's own token.
    plain = refresh(browser, rp, response.get_json()["refresh_token"])
    assert claims_of(plain.get_json()["access_token"])["aud"] == rp.client_id


def test_organization_switch_on_refresh_recomputes_permissions(app, tenant, user, browser, rp):
    _define(app, tenant.id)
    _give(app, tenant.id, "member", [(INVOICES, "read")])
    _give(app, tenant.id, "admin", [(INVOICES, "approve")], kind="org")
    with app.app_context():
        t = db.session.get(Tenant, tenant.id)
        finance = orgs.create_org(t, "Finance", "finance")
        orgs.add_member(t, finance, db.session.get(type(user), user.id), roles=["admin"])
        db.session.commit()
        org_id = finance.id
    body = _tokens(browser, rp, resource=INVOICES, token_resource=INVOICES)
    assert claims_of(body["access_token"])["scope"] == "read"
    switched = refresh(browser, rp, body["refresh_token"], organization=org_id, resource=INVOICES)
    assert switched.status_code == 200, switched.get_json()
    claims = claims_of(switched.get_json()["access_token"])
    assert claims["org_id"] == org_id and claims["scope"] == "read approve"


def _service(app, tenant, grants=()):
    client = make_client(
        app,
        tenant,
        client_name="Billing worker",
        grant_types=["client_credentials"],
        redirect_uris=[],
        scope="openid",
        resource_grants=list(grants),
    )
    return client


def _cc(tc, client, **data):
    return tc.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", **data},
        headers=basic_auth(client.client_id, client.secret),
    )


def test_client_credentials_are_bounded_by_resource_grants(
    app, tenant, other_tenant, tenant_client
):
    _define(app, tenant.id)
    _define(app, tenant.id, identifier=REPORTS, names=("view",))
    _define(app, other_tenant.id, identifier="https://api.globex.example")
    worker = _service(app, tenant, [{"resource": INVOICES, "permissions": ["read", "write"]}])
    tc = tenant_client(tenant)

    everything = _cc(tc, worker, resource=INVOICES)
    assert everything.status_code == 200, everything.get_json()
    claims = claims_of(everything.get_json()["access_token"])
    assert (claims["aud"], claims["scope"], claims["sub"]) == (
        INVOICES,
        "read write",
        worker.client_id,
    )
    narrowed = claims_of(
        _cc(tc, worker, resource=INVOICES, scope="write approve").get_json()["access_token"]
    )
    assert narrowed["scope"] == "write"  # never more than granted
    for target in (REPORTS, "https://api.globex.example", "https://nowhere.example"):
        refused = _cc(tc, worker, resource=target)
        assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_target"
    plain = claims_of(_cc(tc, worker).get_json()["access_token"])
    assert plain["aud"] == worker.client_id  # without resource: as today


def test_introspection_returns_aud_and_scope(app, tenant, tenant_client):
    _define(app, tenant.id)
    worker = _service(app, tenant, [{"resource": INVOICES, "permissions": ["read"]}])
    tc = tenant_client(tenant)
    token = _cc(tc, worker, resource=INVOICES).get_json()["access_token"]
    answer = introspect(tc, worker, token)
    assert answer["active"] is True
    assert answer["aud"] == INVOICES and answer["scope"] == "read"


def test_a_resource_token_lifetime(app, tenant, tenant_client):
    _define(app, tenant.id, ttl=120)
    worker = _service(app, tenant, [{"resource": INVOICES, "permissions": []}])
    tc = tenant_client(tenant)
    body = _cc(tc, worker, resource=INVOICES).get_json()
    claims = claims_of(body["access_token"])
    assert claims["exp"] - claims["iat"] == 120 and body["expires_in"] == 120
    assert claims["scope"] == ""


def test_custom_claims_from_metadata_in_id_and_access_tokens(app, tenant, user, browser, rp):
    _define(app, tenant.id)
    with app.app_context():
        t = db.session.get(Tenant, tenant.id)
        settings_service.update_settings(
            t, {"custom_claims": {"https://acme.example/plan": "plan", "department": "dept"}}
        )
        users.update_user(
            t, users.get_user(t, user.id), {"metadata": {"plan": "pro", "secret": "x"}}
        )
        db.session.commit()
    body = _tokens(browser, rp, resource=INVOICES, token_resource=INVOICES)
    for token in (body["access_token"], body["id_token"]):
        claims = claims_of(token)
        assert claims["https://acme.example/plan"] == "pro"
        assert "department" not in claims and "secret" not in claims
    plain = _tokens(browser, rp)
    assert claims_of(plain["access_token"])["https://acme.example/plan"] == "pro"
    # A stored mapping can never override a reserved claim (names are checked again).
    with app.app_context():
        t = db.session.get(Tenant, tenant.id)
        t.settings = {**t.settings, "custom_claims": {"sub": "plan", "email": "plan"}}
        db.session.commit()
    claims = claims_of(_tokens(browser, rp)["id_token"])
    assert claims["sub"] == user.id and claims["email"] == user.email


def test_custom_claims_keep_any_json_value_exact(app, tenant, user, browser, rp):
    """Tokens and the direct answers are encoded with orjson (app/json_codec.py), which
    cannot hold integers beyond 64 bits: such a custom claim still comes back exact, in
    the tokens, from introspection and after a refresh, as do non-ASCII strings."""
    big, name = 123456789012345678901234567890, "Zo\u00eb \u2014 \u6771\u4eac"
    with app.app_context():
        t = db.session.get(Tenant, tenant.id)
        settings_service.update_settings(t, {"custom_claims": {"number": "n", "label": "s"}})
        users.update_user(t, users.get_user(t, user.id), {"metadata": {"n": big, "s": name}})
        db.session.commit()
    body = _tokens(browser, rp, scope="openid offline_access")
    renewed = refresh(browser, rp, body["refresh_token"])
    assert renewed.status_code == 200, renewed.get_json()
    for token in (body["access_token"], body["id_token"], renewed.get_json()["access_token"]):
        claims = claims_of(token)
        assert (claims["number"], claims["label"]) == (big, name)
        answer = introspect(browser, rp, token) if token != body["id_token"] else claims
        assert (answer["number"], answer["label"]) == (big, name)


@pytest.mark.config(TENANT_SYNC_INTERVAL=3600)
def test_resource_tokens_keep_the_hot_path_cheap(app, tenant, user, browser, rp, tenant_client):
    """client_credentials with resource reads nothing when warm (resources and grants are on
    the tenant snapshot); a refresh with resource is still three statements and a COMMIT."""
    from tests.test_round_trips import round_trips

    _define(app, tenant.id)
    _give(app, tenant.id, "member", [(INVOICES, "read")])
    worker = _service(app, tenant, [{"resource": INVOICES, "permissions": ["read"]}])
    tc = tenant_client(tenant)
    for _ in range(2):  # the first ones warm the snapshot (keys, clients, resources)
        assert _cc(tc, worker, resource=INVOICES).status_code == 200
    with round_trips(app) as seen:
        for _ in range(3):
            assert _cc(tc, worker, resource=INVOICES).status_code == 200
    assert seen == []

    token = _tokens(browser, rp, resource=INVOICES)["refresh_token"]
    token = refresh(browser, rp, token, resource=INVOICES).get_json()["refresh_token"]
    with round_trips(app) as seen:
        response = refresh(browser, rp, token, resource=INVOICES)
    assert response.status_code == 200
    assert claims_of(response.get_json()["access_token"])["scope"] == "read"
    assert seen[-1] == "COMMIT" and len(seen[:-1]) <= 3, seen


def test_too_many_permissions_asked_is_invalid_scope(app, tenant, browser, rp):
    from tests.support.oauth import authorize

    names = [f"permission:{i:03d}:" + "x" * 80 for i in range(20)]
    _define(app, tenant.id, names=names)
    response = authorize(browser, rp, scope=" ".join(["openid", *names]), resource=INVOICES)
    assert response.status_code == 302
    assert query_of(response)["error"] == "invalid_scope"
