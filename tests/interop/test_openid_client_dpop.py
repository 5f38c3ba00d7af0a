"""DPoP (RFC 9449) from a client that is not ours: Node's openid-client (v6) with a DPoP
key pair completes the code flow against a live Gatehouse, retrying on ``use_dpop_nonce``
at the token and userinfo endpoints; its tokens are bound to its key (``cnf.jkt``, the
RFC 7638 thumbprint computed here), its refresh token too (a public client)."""

from __future__ import annotations

import base64
import hashlib
import json
import os

from tests.interop.test_openid_client import ROOT
from tests.interop.test_openid_client import _node
from tests.interop.test_openid_client import _run
from tests.interop.test_openid_client import path_server  # noqa: F401 - fixture
from tests.support.oauth import make_client

SCRIPT = ROOT / "tests" / "interop" / "oidc_dpop.mjs"


def _thumbprint(jwk: dict) -> str:
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    return (
        base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    )


def test_openid_client_completes_a_dpop_flow(app, tenant, make_user, path_server):  # noqa: F811
    node = _node()
    password = "lantern meadow quartz violin"
    user = make_user(tenant, "dpop@example.com", password, name="Dee Pop")
    redirect_uri = "http://127.0.0.1:9/callback"
    spa = make_client(
        app,
        tenant,
        client_name="openid-client DPoP",
        redirect_uris=[redirect_uri],
        token_endpoint_auth_method="none",
        dpop_bound_access_tokens=True,
        first_party=False,
    )
    env = {
        **os.environ,
        "ISSUER": f"http://localhost:{path_server.port}/t/{tenant.slug}",
        "CLIENT_ID": spa.client_id,
        "REDIRECT_URI": redirect_uri,
        "EMAIL": user.email,
        "PASSWORD": password,
    }
    report = _run(node, SCRIPT, env)
    jkt = _thumbprint(report["jwk"])
    assert "ES256" in report["dpop_algs"]
    assert (
        report["token_type"].lower() == "dpop" and report["refreshed_token_type"].lower() == "dpop"
    )
    assert report["cnf"] == {"jkt": jkt} and report["refreshed_cnf"] == {"jkt": jkt}
    assert report["sub"] == user.id and report["userinfo"]["email"] == user.email
    assert report["userinfo_after_refresh"] == user.id
    # Without the key: refused (the client's dpop_bound_access_tokens is checked first).
    assert report["refused_without_key"] == "invalid_dpop_proof"
    protocol = [e for e in report["exchanges"] if e["dpop"]]
    token_calls = [e for e in protocol if e["path"].endswith("/oauth2/token")]
    userinfo_calls = [e for e in protocol if e["path"].endswith("/oauth2/userinfo")]
    # The first proof had no nonce: use_dpop_nonce with one, then the retry succeeded; the
    # nonce was then reused (the refresh needed no retry).
    assert token_calls[0]["status"] == 400 and token_calls[0]["error"] == "use_dpop_nonce"
    assert token_calls[0]["nonce"] is True
    assert [e["status"] for e in token_calls[1:]] == [200, 200]
    assert all(e["status"] == 200 for e in userinfo_calls), userinfo_calls
