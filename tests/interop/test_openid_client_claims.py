"""The claims request parameter and acr_values from a relying party that is not ours:
Node's openid-client (v6) against a live server (OIDC Core §5.5, §3.1.2.1, §5.5.1.1)."""

from __future__ import annotations

import os

from app.extensions import db
from app.services.settings import update_settings
from tests.interop.test_openid_client import SCRIPT
from tests.interop.test_openid_client import _node
from tests.interop.test_openid_client import _run
from tests.interop.test_openid_client import path_server  # noqa: F401 - fixture
from tests.support.oauth import make_client


def test_openid_client_requests_claims_and_acr(app, tenant, make_user, path_server):  # noqa: F811
    node = _node()
    with app.app_context():  # MFA off: acr mfa is voluntary-only, essential is refused
        update_settings(db.session.merge(tenant), {"mfa_policy": "off"})
        db.session.commit()
    password = "saffron harbor ledger 7"
    user = make_user(tenant, "claims@example.com", password, name="Cleo Claims")
    redirect_uri = "http://127.0.0.1:9/callback"
    rp = make_client(
        app,
        tenant,
        client_name="openid-client claims",
        redirect_uris=[redirect_uri],
        first_party=False,  # the claims' scopes go through the consent page
    )
    env = {
        **os.environ,
        "ISSUER": f"http://localhost:{path_server.port}/t/{tenant.slug}",
        "CLIENT_ID": rp.client_id,
        "CLIENT_SECRET": rp.secret,
        "REDIRECT_URI": redirect_uri,
        "EMAIL": user.email,
        "PASSWORD": password,
    }
    report = _run(node, SCRIPT.with_name("oidc_claims.mjs"), env)
    assert report["claims_parameter_supported"] is True
    assert "mfa" not in report["acr_values_supported"]
    assert report["sub"] == user.id
    assert report["acr"] == "sfa" and report["amr"] == ["pwd"]
    assert report["id_token_email"] == user.email and report["id_token_has_name"] is False
    assert report["scope"] == "openid"
    assert report["userinfo"] == {"sub": user.id, "name": "Cleo Claims"}
    assert report["refused"] == "unmet_authentication_requirements"
