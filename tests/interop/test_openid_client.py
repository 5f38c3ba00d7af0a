"""Interoperability with a relying party that is not ours: Node's openid-client (v6)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from tests.support.live import LiveServer
from tests.support.oauth import claims_of
from tests.support.oauth import header_of
from tests.support.oauth import make_client

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("oidc_rp.mjs")


def _node() -> str:
    node = shutil.which("node")
    installed = (ROOT / "node_modules" / "openid-client").is_dir()
    if node and installed:
        return node
    reason = "node is not installed" if not node else "run `npm ci` (openid-client missing)"
    if os.environ.get("CI"):
        pytest.fail(f"the interop test needs Node and openid-client in CI: {reason}")
    pytest.skip(reason)


def _run(node: str, script: Path, env: dict) -> dict:
    """Run a Node script; its last line of output is the JSON report."""
    result = subprocess.run(
        [node, "--dns-result-order=ipv4first", str(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-1000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def path_server(make_app):
    """A live server with path routing: Node resolves ``localhost`` but not
    ``acme-corp.localhost``, so the issuer is http://localhost:<port>/t/acme-corp."""
    server = LiveServer(lambda **kw: make_app(TENANT_ROUTING="path", **kw)).start()
    yield server
    server.stop()


def test_openid_client_completes_the_code_flow(app, tenant, make_user, path_server):
    node = _node()
    password = "lantern meadow quartz violin"
    user = make_user(tenant, "interop@example.com", password, name="Ina Interop")
    redirect_uri = "http://127.0.0.1:9/callback"
    rp = make_client(
        app,
        tenant,
        client_name="openid-client interop",
        redirect_uris=[redirect_uri],
        first_party=False,  # drive the consent page too
    )
    issuer = f"http://localhost:{path_server.port}/t/{tenant.slug}"
    env = {
        **os.environ,
        "ISSUER": issuer,
        "CLIENT_ID": rp.client_id,
        "CLIENT_SECRET": rp.secret,
        "REDIRECT_URI": redirect_uri,
        "EMAIL": user.email,
        "PASSWORD": password,
    }
    report = _run(node, SCRIPT, env)
    assert report["issuer"] == issuer and report["iss_in_callback"] == issuer
    assert report["sub"] == user.id and report["tenant_id"] == tenant.id
    assert report["nonce_ok"] is True and report["refreshed"] is True
    assert report["userinfo"]["email"] == user.email
    assert report["userinfo"]["name"] == "Ina Interop"
    assert report["userinfo_after_refresh"] == user.id


def test_openid_client_gets_a_token_for_an_api(app, tenant, other_tenant, path_server):
    """RFC 8707 from another implementation: client_credentials with `resource`, bounded by
    the client's resource grants, introspected; another tenant's API is invalid_target."""
    from app.extensions import db
    from app.services import resources

    node = _node()
    with app.app_context():
        for t, identifier in (
            (tenant, "https://api.acme.example"),
            (other_tenant, "https://api.globex.example"),
        ):
            resources.create_resource(
                db.session.merge(t),
                {
                    "identifier": identifier,
                    "name": "API",
                    "permissions": [{"name": "read"}, {"name": "write"}],
                },
            )
        db.session.commit()
    worker = make_client(
        app,
        tenant,
        client_name="openid-client m2m",
        grant_types=["client_credentials"],
        redirect_uris=[],
        scope="openid",
        resource_grants=[{"resource": "https://api.acme.example", "permissions": ["read"]}],
    )
    env = {
        **os.environ,
        "ISSUER": f"http://localhost:{path_server.port}/t/{tenant.slug}",
        "CLIENT_ID": worker.client_id,
        "CLIENT_SECRET": worker.secret,
        "RESOURCE": "https://api.acme.example",
        "OTHER_RESOURCE": "https://api.globex.example",
    }
    report = _run(node, SCRIPT.with_name("oidc_m2m.mjs"), env)
    assert report["aud"] == "https://api.acme.example" and report["scope"] == "read"
    assert report["introspected"]["active"] is True
    assert report["introspected"]["aud"] == "https://api.acme.example"
    assert report["introspected"]["scope"] == "read"
    assert report["refused"] == "invalid_target"


def test_openid_client_completes_par_and_form_post_flows(app, tenant, make_user, path_server):
    """RFC 9126 through buildAuthorizationUrlWithPAR, and response_mode=form_post (the
    form's POST handed to authorizationCodeGrant), then both at once; the first flow
    signs in and consents, the next ones reuse the session."""
    node = _node()
    password = "copper kettle orbit 42"
    user = make_user(tenant, "par@example.com", password, name="Paz Pushed")
    redirect_uri = "http://127.0.0.1:9/callback"
    rp = make_client(
        app,
        tenant,
        client_name="openid-client PAR",
        redirect_uris=[redirect_uri],
        first_party=False,
        require_pushed_authorization_requests=False,
    )
    issuer = f"http://localhost:{path_server.port}/t/{tenant.slug}"
    env = {
        **os.environ,
        "ISSUER": issuer,
        "CLIENT_ID": rp.client_id,
        "CLIENT_SECRET": rp.secret,
        "REDIRECT_URI": redirect_uri,
        "EMAIL": user.email,
        "PASSWORD": password,
    }
    report = _run(node, SCRIPT.with_name("oidc_par.mjs"), env)
    assert report["issuer"] == issuer
    assert report["par_endpoint"] == f"{issuer}/oauth2/par"
    pushed, posted, both = report["pushed"], report["posted"], report["both"]
    for flow in (pushed, posted, both):
        assert flow["sub"] == user.id and flow["nonce_ok"] is True
    # The pushed flows' authorization URL carries only client_id and the request_uri.
    for flow in (pushed, both):
        query = parse_qs(urlsplit(flow["authorization_url"]).query)
        assert set(query) == {"client_id", "request_uri"}
        assert query["request_uri"][0].startswith("urn:ietf:params:oauth:request_uri:")
    assert pushed["posted"] is False and posted["posted"] is True and both["posted"] is True


def test_openid_client_private_key_jwt_and_request_objects(app, tenant, make_user, path_server):
    """RFC 7523 through oidc.PrivateKeyJwt (client_credentials and the code exchange) and
    RFC 9101 through buildAuthorizationUrlWithJAR, also pushed through PAR."""
    from tests.support.client_keys import jwks_of
    from tests.support.client_keys import make_key

    node = _node()
    password = "granite sparrow lemon 7"
    user = make_user(tenant, "signer@example.com", password, name="Sig Ner")
    redirect_uri = "http://127.0.0.1:9/callback"
    key = make_key("ES256", kid="interop-es256")
    rp = make_client(
        app,
        tenant,
        client_name="openid-client private_key_jwt",
        redirect_uris=[redirect_uri],
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
        token_endpoint_auth_method="private_key_jwt",
        jwks=jwks_of(key),
        first_party=False,
    )
    issuer = f"http://localhost:{path_server.port}/t/{tenant.slug}"
    env = {
        **os.environ,
        "ISSUER": issuer,
        "CLIENT_ID": rp.client_id,
        "PRIVATE_JWK": json.dumps(key.private_jwk),
        "REDIRECT_URI": redirect_uri,
        "EMAIL": user.email,
        "PASSWORD": password,
    }
    report = _run(node, SCRIPT.with_name("oidc_pkjwt.mjs"), env)
    assert report["issuer"] == issuer and report["request_parameter_supported"] is True
    assert "private_key_jwt" in report["auth_methods"]
    assert report["machine_token_type"].lower() == "bearer"
    assert claims_of(report["machine_access_token"])["client_id"] == rp.client_id
    for flow in (report["jar"], report["pushed"]):
        assert flow["sub"] == user.id and flow["nonce_ok"] is True
        header = header_of(flow["request_object"])
        assert header["alg"] == "ES256" and header["kid"] == key.kid
        assert claims_of(flow["request_object"])["aud"] == issuer
    jar_query = parse_qs(urlsplit(report["jar"]["authorization_url"]).query)
    assert set(jar_query) == {"client_id", "request"}
    pushed_query = parse_qs(urlsplit(report["pushed"]["authorization_url"]).query)
    assert set(pushed_query) == {"client_id", "request_uri"}
