"""Token exchange (RFC 8693) from Node's openid-client v6 against a live server: a relying
party signs a person in for one API, a backend exchanges that token with
``genericGrantRequest`` for another API of the tenant (``act`` = the backend), introspects
it; an API outside the backend's policy and another tenant's token are refused."""

from __future__ import annotations

import os

from app.extensions import db
from app.models import Tenant
from app.services import permissions
from app.services import resources
from app.services import roles
from tests.interop.test_openid_client import SCRIPT
from tests.interop.test_openid_client import _node
from tests.interop.test_openid_client import _run
from tests.interop.test_openid_client import path_server  # noqa: F401 - a fixture
from tests.support.oauth import make_client

EXCHANGE_SCRIPT = SCRIPT.with_name("oidc_token_exchange.mjs")
GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
INVOICES = "https://api.acme.example/invoices"
LEDGER = "https://api.acme.example/ledger"
GLOBEX = "https://api.globex.example"


def _apis(app, tenant, other_tenant) -> None:
    """Acme: invoices and ledger, members hold invoices read and ledger view and post;
    Globex: one API of its own."""
    with app.app_context():
        acme = db.session.get(Tenant, tenant.id)
        for identifier, names in (
            (INVOICES, ("read", "write")),
            (LEDGER, ("view", "post", "close")),
        ):
            resources.create_resource(
                acme,
                {
                    "identifier": identifier,
                    "name": "API",
                    "permissions": [{"name": n} for n in names],
                },
            )
        permissions.set_role_permissions(
            acme,
            roles.get_role(acme, "member", "tenant"),
            [
                {"resource": INVOICES, "permission": "read"},
                {"resource": LEDGER, "permission": "view"},
                {"resource": LEDGER, "permission": "post"},
            ],
        )
        resources.create_resource(
            db.session.get(Tenant, other_tenant.id),
            {"identifier": GLOBEX, "name": "API", "permissions": [{"name": "read"}]},
        )
        db.session.commit()


def test_openid_client_exchanges_a_token_for_another_api(
    app,
    tenant,
    other_tenant,
    make_user,
    path_server,  # noqa: F811
):
    node = _node()
    password = "lantern meadow quartz violin"
    user = make_user(tenant, "exchange@example.com", password, name="Ed Exchange")
    _apis(app, tenant, other_tenant)
    redirect_uri = "http://127.0.0.1:9/callback"
    rp = make_client(app, tenant, client_name="openid-client web app", redirect_uris=[redirect_uri])
    service = make_client(
        app,
        tenant,
        client_name="openid-client invoices backend",
        grant_types=[GRANT],
        redirect_uris=[],
        scope="openid",
        resource_grants=[{"resource": LEDGER, "permissions": ["view", "close"]}],
    )
    globex_worker = make_client(
        app,
        other_tenant,
        client_name="Globex worker",
        grant_types=["client_credentials"],
        redirect_uris=[],
        scope="openid",
        resource_grants=[{"resource": GLOBEX, "permissions": ["read"]}],
    )
    origin = f"http://localhost:{path_server.port}"
    issuer = f"{origin}/t/{tenant.slug}"
    env = {
        **os.environ,
        "ISSUER": issuer,
        "RP_ID": rp.client_id,
        "RP_SECRET": rp.secret,
        "REDIRECT_URI": redirect_uri,
        "EMAIL": user.email,
        "PASSWORD": password,
        "RESOURCE": INVOICES,
        "TARGET": LEDGER,
        "OUTSIDE": INVOICES,  # an API of the tenant the backend's policy does not list
        "SERVICE_ID": service.client_id,
        "SERVICE_SECRET": service.secret,
        "OTHER_ISSUER": f"{origin}/t/{other_tenant.slug}",
        "OTHER_ID": globex_worker.client_id,
        "OTHER_SECRET": globex_worker.secret,
        "OTHER_RESOURCE": GLOBEX,
    }
    report = _run(node, EXCHANGE_SCRIPT, env)
    assert report["advertised"] is True
    subject = report["subject"]
    assert subject["aud"] == INVOICES and subject["sub"] == user.id
    exchanged = report["exchanged"]
    assert exchanged["issued_token_type"] == ACCESS
    assert exchanged["token_type"].lower() == "bearer" and "refresh_token" not in exchanged
    assert exchanged["scope"] == "view"  # asked view post close; policy view close; held view post
    claims = report["claims"]
    assert claims["iss"] == issuer and claims["aud"] == LEDGER
    assert claims["sub"] == user.id and claims["tenant_id"] == tenant.id
    assert claims["act"] == {"sub": service.client_id}
    assert claims["client_id"] == service.client_id
    assert (
        claims["exp"] <= subject["exp"] and exchanged["expires_in"] == claims["exp"] - claims["iat"]
    )
    introspected = report["introspected"]
    assert introspected["active"] is True and introspected["act"] == {"sub": service.client_id}
    assert report["outside"] == "invalid_target"
    assert report["foreign_refused"] == "invalid_request"
