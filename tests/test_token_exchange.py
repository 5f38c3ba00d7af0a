"""OAuth 2.0 Token Exchange (RFC 8693, issue #19) through the token endpoint: a service
(the actor) exchanges a user's access token for one aimed at another API of the same
tenant, with ``act``; the per-client policy (``resource_grants``), scope narrowing,
lifetimes, nested delegation, ``may_act``, and every refusal with its RFC error."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import AuditEvent
from app.models import Client
from app.models import Tenant
from app.services import clients as clients_service
from app.services import permissions
from app.services import resources
from app.services import roles
from app.services import tokens
from app.services import users
from app.services.errors import ValidationFailed
from app.tenancy import scope
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.console import console_fixtures
from tests.support.oauth import basic_auth
from tests.support.oauth import claims_of
from tests.support.oauth import exchange as code_exchange
from tests.support.oauth import get_code
from tests.support.oauth import introspect
from tests.support.oauth import make_client
from tests.support.registration import oauth_error
from tests.support.registration import register
from tests.support.registration import set_mode

make_console = console_fixtures()

GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
INVOICES = "https://api.acme.example/invoices"
LEDGER = "https://api.acme.example/ledger"
OIDC = "openid profile email offline_access"


def _define(app, tenant_id, identifier, names, ttl=None):
    with app.app_context():
        resources.create_resource(
            db.session.get(Tenant, tenant_id),
            {
                "identifier": identifier,
                "name": identifier.rsplit("/", 1)[-1],
                "permissions": [{"name": n} for n in names],
                "access_token_ttl_seconds": ttl,
            },
        )
        db.session.commit()


def _give(app, tenant_id, role_name, entries):
    """Replace a tenant role's permissions with ``[(identifier, permission)]``."""
    with app.app_context():
        t = db.session.get(Tenant, tenant_id)
        permissions.set_role_permissions(
            t,
            roles.get_role(t, role_name, "tenant"),
            [{"resource": r, "permission": p} for r, p in entries],
        )
        db.session.commit()


def _service(app, tenant, name, grants, grant_types=(GRANT,), **extra):
    return make_client(
        app,
        tenant,
        client_name=name,
        grant_types=list(grant_types),
        redirect_uris=[],
        scope="openid",
        resource_grants=list(grants),
        **extra,
    )


def _exchange(tc, actor, subject_token, *, auth="basic", **params):
    data = {"grant_type": GRANT, "subject_token_type": ACCESS, **params}
    if subject_token is not None:
        data["subject_token"] = subject_token
    data = {k: v for k, v in data.items() if v is not None}
    headers = {}
    if auth == "basic":
        headers = basic_auth(actor.client_id, actor.secret)
    else:
        data["client_id"] = actor.client_id
        if auth == "post":
            data["client_secret"] = actor.secret
    return tc.post("/oauth2/token", data=data, headers=headers)


def _ok(response) -> tuple[dict, dict]:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return body, claims_of(body["access_token"])


@pytest.fixture
def world(app, tenant):
    """Two APIs; members may read and write invoices and view and post to the ledger;
    the Invoices API's backend may exchange to the ledger for ``view`` and ``close``."""
    _define(app, tenant.id, INVOICES, ("read", "write", "approve"))
    _define(app, tenant.id, LEDGER, ("view", "post", "close"), ttl=120)
    _give(
        app,
        tenant.id,
        "member",
        [(INVOICES, "read"), (INVOICES, "write"), (LEDGER, "view"), (LEDGER, "post")],
    )
    return _service(
        app, tenant, "Invoices backend", [{"resource": LEDGER, "permissions": ["view", "close"]}]
    )


def _user_token(tc, rp, resource=INVOICES) -> str:
    """A signed-in user's access token for ``resource`` (code flow, RFC 8707)."""
    code, verifier, _ = get_code(tc, rp, scope=OIDC, resource=resource)
    response = code_exchange(tc, rp, code, verifier, resource=resource)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_service_exchanges_a_user_token_for_another_api_acting_for_the_user(
    app, tenant, user, tc, rp, world
):
    subject_token = _user_token(tc, rp)["access_token"]
    subject = claims_of(subject_token)
    response = _exchange(tc, world, subject_token, resource=LEDGER)
    assert response.headers["Cache-Control"] == "no-store"
    body, claims = _ok(response)
    assert body["issued_token_type"] == ACCESS and body["token_type"] == "Bearer"
    assert "refresh_token" not in body and "id_token" not in body
    # The user's permissions on the ledger (view, post) within the policy (view, close).
    assert body["scope"] == claims["scope"] == "view"
    assert claims["sub"] == user.id and claims["aud"] == LEDGER
    assert claims["act"] == {"sub": world.client_id}
    assert claims["client_id"] == world.client_id
    assert claims["tenant_id"] == tenant.id and claims["roles"] == ["member"]
    assert claims["sid"] == subject["sid"]
    # The ledger's 120 s lifetime is shorter than what the subject token has left.
    assert claims["exp"] - claims["iat"] == body["expires_in"] == 120
    assert claims["exp"] <= subject["exp"]
    # A real access token of the tenant: any resource server can introspect it.
    answer = introspect(tc, world, body["access_token"])
    assert answer["active"] is True and answer["act"] == {"sub": world.client_id}
    # `audience` naming the same identifier is the same request.
    _body, by_audience = _ok(_exchange(tc, world, subject_token, audience=LEDGER))
    assert by_audience["aud"] == LEDGER and by_audience["scope"] == "view"
    # An actor registered for client_secret_post authenticates that way (and only so).
    poster = _service(
        app,
        tenant,
        "Posting backend",
        [{"resource": LEDGER, "permissions": ["view"]}],
        token_endpoint_auth_method="client_secret_post",
    )
    _ok(_exchange(tc, poster, subject_token, auth="post", resource=LEDGER))
    oauth_error(_exchange(tc, poster, subject_token, resource=LEDGER), 401, "invalid_client")

    with app.app_context():
        events = scope(tenant).all(AuditEvent, AuditEvent.action == "token.exchanged")
        assert len(events) == 3
        event = events[0]
        assert (event.actor_type, event.actor_id) == ("client", world.client_id)
        assert (event.target_type, event.target_id) == ("user", user.id)
        assert event.data["resource"] == LEDGER and event.data["scope"] == "view"
        assert event.data["subject_client_id"] == rp.client_id


def test_exchanges_count_in_usage(app, tenant, tc, rp, world):
    subject_token = _user_token(tc, rp)["access_token"]
    _ok(_exchange(tc, world, subject_token, resource=LEDGER))
    assert _exchange(tc, world, subject_token, resource=INVOICES).status_code == 400
    report = Api(app, create_admin_key(app, tenant)).get(f"/tenants/{tenant.slug}/usage")
    today = report.get_json()["days"][-1]
    assert today["tokens"][GRANT] == 1  # refusals are not tokens
    assert today["tokens"]["authorization_code"] == 1


def test_a_lifetime_never_outlasts_the_subject_token(app, tenant, user, tc, world):
    with app.app_context():
        t = db.session.get(Tenant, tenant.id)
        rp_row = scope(t).get(Client, world.client_id)
        short, _ = tokens.mint_access_token(
            t, rp_row, subject=user.id, scope="", roles=["member"], ttl=30
        )
        db.session.commit()  # the tenant's first signing key, made for this token
    body, claims = _ok(_exchange(tc, world, short, resource=LEDGER))
    assert claims["exp"] <= claims_of(short)["exp"] and body["expires_in"] <= 30


def test_scope_is_narrowed_to_the_policy_and_the_subject(app, tenant, user, tc, rp, world):
    subject_token = _user_token(tc, rp)["access_token"]
    # Asked: view post close and values that are not the ledger's: only `view` is both
    # allowed by the policy (view, close) and held by the user (view, post).
    asked = "view post close read openid bogus"
    body, claims = _ok(_exchange(tc, world, subject_token, resource=LEDGER, scope=asked))
    assert body["scope"] == claims["scope"] == "view"
    _body, none_left = _ok(_exchange(tc, world, subject_token, resource=LEDGER, scope="post"))
    assert none_left["scope"] == ""  # held, but outside the policy: nothing, not an error
    # A role gains `close` now: the user holds it and the policy allows it.
    _give(app, tenant.id, "member", [(LEDGER, "view"), (LEDGER, "post"), (LEDGER, "close")])
    _body, grown = _ok(_exchange(tc, world, subject_token, resource=LEDGER))
    assert grown["scope"] == "view close"
    # The user loses the role the token names: nothing of the ledger is held any more.
    with app.app_context():
        t = db.session.get(Tenant, tenant.id)
        users.update_user(t, users.get_user(t, user.id), {"roles": []})
        db.session.commit()
    _body, lost = _ok(_exchange(tc, world, subject_token, resource=LEDGER))
    assert lost["scope"] == "" and lost["roles"] == []


def test_an_exchange_for_the_same_api_never_widens_the_subject_token(app, tenant, tc, rp, world):
    ledger_token = _user_token(tc, rp, resource=LEDGER)["access_token"]
    assert claims_of(ledger_token)["scope"] == "view post"
    auditor = _service(
        app, tenant, "Auditor", [{"resource": LEDGER, "permissions": ["view", "post", "close"]}]
    )
    _give(app, tenant.id, "member", [(LEDGER, "view"), (LEDGER, "post"), (LEDGER, "close")])
    _body, claims = _ok(_exchange(tc, auditor, ledger_token, resource=LEDGER))
    assert claims["scope"] == "view post"  # the user holds close now; the token did not


def test_a_delegated_token_exchanged_again_nests_act(app, tenant, user, tc, rp, world):
    subject_token = _user_token(tc, rp)["access_token"]
    first, first_claims = _ok(_exchange(tc, world, subject_token, resource=LEDGER))
    reporting = _service(
        app, tenant, "Reporting", [{"resource": INVOICES, "permissions": ["read", "approve"]}]
    )
    _body, claims = _ok(_exchange(tc, reporting, first["access_token"], resource=INVOICES))
    assert claims["sub"] == user.id and claims["aud"] == INVOICES
    assert claims["act"] == {"sub": reporting.client_id, "act": {"sub": world.client_id}}
    assert claims["scope"] == "read"  # held: read, write; policy: read, approve
    assert claims["exp"] <= first_claims["exp"]


def test_a_client_subject_is_bounded_by_its_own_resource_grants(app, tenant, tc, world):
    worker = _service(
        app,
        tenant,
        "Billing worker",
        [
            {"resource": INVOICES, "permissions": ["read"]},
            {"resource": LEDGER, "permissions": ["close"]},
        ],
        grant_types=["client_credentials"],
        roles=["member"],
    )
    worker_token = tc.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "resource": INVOICES},
        headers=basic_auth(worker.client_id, worker.secret),
    ).get_json()["access_token"]
    body, claims = _ok(_exchange(tc, world, worker_token, resource=LEDGER))
    assert claims["sub"] == worker.client_id and claims["act"] == {"sub": world.client_id}
    assert body["scope"] == "close" and claims["roles"] == ["member"]
    with app.app_context():
        event = scope(tenant).all(AuditEvent, AuditEvent.action == "token.exchanged")[0]
        assert (event.target_type, event.target_id) == ("client", worker.client_id)


def test_targets_outside_the_policy_or_unknown_are_invalid_target(
    app, tenant, other_tenant, tc, rp, world
):
    _define(app, other_tenant.id, "https://api.globex.example", ("read",))
    subject_token = _user_token(tc, rp)["access_token"]
    for params in (
        {"resource": INVOICES},  # a resource of the tenant the policy does not list
        {"resource": "https://nowhere.example"},
        {"resource": "https://api.globex.example"},  # another tenant's
        {"audience": "billing"},
        {"resource": LEDGER, "audience": INVOICES},  # one target per exchange
    ):
        refused = _exchange(tc, world, subject_token, **params)
        body = oauth_error(refused, 400, "invalid_target")
        assert body["error_description"], params
    twice = tc.post(
        "/oauth2/token",
        data=MultiDict(
            [
                ("grant_type", GRANT),
                ("subject_token", subject_token),
                ("subject_token_type", ACCESS),
                ("resource", LEDGER),
                ("resource", INVOICES),
            ]
        ),
        headers=basic_auth(world.client_id, world.secret),
    )
    oauth_error(twice, 400, "invalid_target")


def test_a_token_of_another_tenant_is_refused(
    app, tenant, other_tenant, tc, rp, tenant_client, world
):
    globex_api = "https://api.globex.example"
    _define(app, other_tenant.id, globex_api, ("read",))
    worker = _service(
        app,
        other_tenant,
        "Globex worker",
        [{"resource": globex_api, "permissions": ["read"]}],
        grant_types=["client_credentials"],
    )
    globex = tenant_client(other_tenant)
    foreign = globex.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "resource": globex_api},
        headers=basic_auth(worker.client_id, worker.secret),
    ).get_json()["access_token"]
    body = oauth_error(_exchange(tc, world, foreign, resource=LEDGER), 400, "invalid_request")
    assert "subject token" in body["error_description"]
    # The other way: an Acme user's token at Globex, by a Globex exchanger.
    gateway = _service(
        app, other_tenant, "Globex gateway", [{"resource": globex_api, "permissions": ["read"]}]
    )
    acme_token = _user_token(tc, rp)["access_token"]
    oauth_error(_exchange(globex, gateway, acme_token, resource=globex_api), 400, "invalid_request")
    # Acme's exchanger is not a client at Globex.
    oauth_error(_exchange(globex, world, acme_token, resource=globex_api), 401, "invalid_client")
    with app.app_context():
        assert scope(other_tenant).count(AuditEvent, AuditEvent.action == "token.exchanged") == 0


def test_expired_revoked_and_malformed_subject_tokens_are_refused(app, tenant, user, tc, rp, world):
    with app.app_context():
        t = db.session.get(Tenant, tenant.id)
        expired, _ = tokens.mint_access_token(
            t, scope(t).get(Client, rp.client_id), subject=user.id, scope="", roles=[], ttl=-30
        )
        db.session.commit()  # the tenant's first signing key, made for this token
    tokens_body = _user_token(tc, rp)
    revoked = tokens_body["access_token"]
    answer = tc.post(
        "/oauth2/revoke",
        data={"token": revoked},
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert answer.status_code == 200
    id_token = tokens_body["id_token"]  # signed by the tenant, but not an access token
    for subject_token in (expired, revoked, id_token, "not-a-token", revoked + "x"):
        refused = _exchange(tc, world, subject_token, resource=LEDGER)
        oauth_error(refused, 400, "invalid_request")


def test_revoking_the_subject_grant_revokes_the_exchanged_tokens(app, tenant, tc, rp, world):
    body = _user_token(tc, rp)
    exchanged, _claims = _ok(_exchange(tc, world, body["access_token"], resource=LEDGER))
    assert introspect(tc, world, exchanged["access_token"])["active"] is True
    # RFC 7009 §2.1: revoking the refresh token revokes its grant's access tokens, and
    # the tokens exchanged from them.
    answer = tc.post(
        "/oauth2/revoke",
        data={"token": body["refresh_token"]},
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert answer.status_code == 200
    assert introspect(tc, world, exchanged["access_token"]) == {"active": False}


def test_a_disabled_user_cannot_be_acted_for(app, tenant, user, tc, rp, world):
    subject_token = _user_token(tc, rp)["access_token"]
    with app.app_context():
        t = db.session.get(Tenant, tenant.id)
        users.update_user(t, users.get_user(t, user.id), {"status": "disabled"})
        db.session.commit()
    oauth_error(_exchange(tc, world, subject_token, resource=LEDGER), 400, "invalid_request")


def test_may_act_must_name_the_actor(app, tenant, user, tc, world):
    other = _service(app, tenant, "Other service", [{"resource": LEDGER, "permissions": ["view"]}])

    def subject_for(may_act):
        with app.app_context():
            t = db.session.get(Tenant, tenant.id)
            token, _ = tokens.mint_access_token(
                t,
                scope(t).get(Client, world.client_id),
                subject=user.id,
                scope="",
                roles=["member"],
                extra={"may_act": may_act},
            )
            db.session.commit()  # the tenant's first signing key, made for this token
            return token

    allowed = subject_for({"sub": world.client_id})
    _body, claims = _ok(_exchange(tc, world, allowed, resource=LEDGER))
    assert claims["act"] == {"sub": world.client_id} and "may_act" not in claims
    oauth_error(_exchange(tc, other, allowed, resource=LEDGER), 400, "invalid_request")
    for may_act in ({"sub": other.client_id}, "anyone", {}):
        oauth_error(
            _exchange(tc, world, subject_for(may_act), resource=LEDGER), 400, "invalid_request"
        )


def test_a_client_without_the_grant_type_is_unauthorized(app, tenant, tc, rp, world):
    worker = _service(
        app,
        tenant,
        "Plain worker",
        [{"resource": LEDGER, "permissions": ["view"]}],
        grant_types=["client_credentials"],
    )
    subject_token = _user_token(tc, rp)["access_token"]
    oauth_error(_exchange(tc, worker, subject_token, resource=LEDGER), 400, "unauthorized_client")
    # The signed-in app itself does not hold it either.
    oauth_error(_exchange(tc, rp, subject_token, resource=LEDGER), 400, "unauthorized_client")


def test_public_clients_cannot_exchange(app, tenant, tc, rp, world):
    with app.app_context(), pytest.raises(ValidationFailed) as refused:
        clients_service.create_client(
            db.session.get(Tenant, tenant.id),
            {
                "client_name": "SPA",
                "redirect_uris": ["https://spa.example.com/cb"],
                "grant_types": ["authorization_code", GRANT],
                "token_endpoint_auth_method": "none",
            },
        )
    assert "public client" in refused.value.errors["grant_types"]
    spa = make_client(app, tenant, client_name="SPA", token_endpoint_auth_method="none")
    subject_token = _user_token(tc, rp)["access_token"]
    refused_public = _exchange(tc, spa, subject_token, auth="none", resource=LEDGER)
    oauth_error(refused_public, 401, "invalid_client")
    # Wrong secret for a confidential actor: invalid_client too.
    world.secret = "wrong"
    oauth_error(_exchange(tc, world, subject_token, resource=LEDGER), 401, "invalid_client")


def test_missing_and_repeated_parameters_are_invalid_request(app, tenant, tc, rp, world):
    subject_token = _user_token(tc, rp)["access_token"]
    cases = (
        {"subject_token": None},
        {"subject_token": ""},
        {"subject_token_type": None},
        {"resource": None},  # no target at all
        {"actor_token": subject_token, "actor_token_type": ACCESS},
    )
    for case in cases:
        params = {"subject_token": subject_token, "resource": LEDGER, **case}
        token = params.pop("subject_token")
        if "subject_token_type" in case:
            data = {"grant_type": GRANT, "subject_token": token, "resource": LEDGER}
            response = tc.post(
                "/oauth2/token", data=data, headers=basic_auth(world.client_id, world.secret)
            )
        else:
            response = _exchange(tc, world, token, **params)
        body = oauth_error(response, 400, "invalid_request")
        assert body["error_description"], case
    twice = tc.post(
        "/oauth2/token",
        data=MultiDict(
            [
                ("grant_type", GRANT),
                ("subject_token", subject_token),
                ("subject_token", subject_token),
                ("subject_token_type", ACCESS),
                ("resource", LEDGER),
            ]
        ),
        headers=basic_auth(world.client_id, world.secret),
    )
    oauth_error(twice, 400, "invalid_request")


def test_only_access_tokens_are_exchanged_and_issued(app, tenant, tc, rp, world):
    body = _user_token(tc, rp)
    for kind in ("refresh_token", "id_token", "jwt", "saml2"):
        type_uri = f"urn:ietf:params:oauth:token-type:{kind}"
        requested = _exchange(
            tc, world, body["access_token"], resource=LEDGER, requested_token_type=type_uri
        )
        oauth_error(requested, 400, "unsupported_token_type")
        subject = _exchange(
            tc, world, body["refresh_token"], resource=LEDGER, subject_token_type=type_uri
        )
        oauth_error(subject, 400, "unsupported_token_type")
    explicit = _exchange(
        tc, world, body["access_token"], resource=LEDGER, requested_token_type=ACCESS
    )
    assert _ok(explicit)[0]["issued_token_type"] == ACCESS


def test_discovery_and_clients_offer_the_grant_type(app, tenant, tc):
    doc = tc.get("/.well-known/openid-configuration").get_json()
    assert GRANT in doc["grant_types_supported"]
    _define(app, tenant.id, LEDGER, ("view",))
    api = Api(app, create_admin_key(app, tenant))
    created = api.post(
        f"/tenants/{tenant.slug}/clients",
        json={
            "client_name": "Gateway",
            "grant_types": [GRANT],
            "resource_grants": [{"resource": LEDGER, "permissions": ["view"]}],
        },
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["grant_types"] == [GRANT]
    public = api.post(
        f"/tenants/{tenant.slug}/clients",
        json={
            "client_name": "SPA",
            "grant_types": [GRANT],
            "token_endpoint_auth_method": "none",
        },
    )
    assert public.status_code == 400
    assert "public client" in public.get_json()["errors"]["grant_types"]


def test_dynamic_registration_refuses_the_grant_type(app, tenant, tc):
    set_mode(app, tenant, "open")
    refused = register(tc, grant_types=["authorization_code", GRANT])
    body = oauth_error(refused, 400, "invalid_client_metadata")
    assert GRANT in body["error_description"]


def test_the_console_enables_the_grant_type(app, tenant, make_console):
    admin = make_console(tenant, "boss@acme.example")
    form = admin.get("/admin/clients/new").get_data(as_text=True)
    assert f'value="{GRANT}"' in form
    created = admin.submit(
        "/admin/clients/new",
        {
            "client_name": "Gateway",
            "redirect_uris": "",
            "post_logout_redirect_uris": "",
            "grant_types": [GRANT],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": ["openid"],
            "id_token_signed_response_alg": "RS256",
            "roles": "",
        },
    )
    assert created.status_code == 200 and "shown only this once" in created.get_data(as_text=True)
    with app.app_context():
        row = scope(tenant).first(Client, Client.client_name == "Gateway")
        assert row.grant_types == [GRANT]
    page = admin.get(f"/admin/clients/{row.id}").get_data(as_text=True)
    assert "API access (client credentials, token exchange)" in page
