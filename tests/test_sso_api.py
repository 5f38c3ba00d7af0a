"""The admin API of an organization's enterprise SSO: verified domains (a real local DNS
server answers the TXT lookups), connections (SAML from metadata XML or URL, OIDC) and
SCIM tokens."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Connection
from app.models import ScimToken
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of
from tests.support.saml_idp import SamlIdp
from tests.support.sso_fixtures import dns_app  # noqa: F401
from tests.support.sso_fixtures import local_dns  # noqa: F401

ORG = "/tenants/acme-corp/orgs/corp"


@pytest.fixture
def api(app, tenant):
    client = Api(app, create_admin_key(app, tenant))
    assert (
        client.post("/tenants/acme-corp/orgs", json={"name": "Corp", "slug": "corp"}).status_code
        == 201
    )
    return client


@pytest.fixture
def idp():
    server = SamlIdp()
    yield server
    server.close()


def verified(api, dns, domain="corp.example") -> dict:
    row = api.post(f"{ORG}/domains", json={"domain": domain}).get_json()
    dns.publish(row["verification"]["name"], row["verification"]["value"])
    answer = api.post(f"{ORG}/domains/{row['id']}/verify")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_domain_is_verified_by_its_txt_record(api, dns):
    created = api.post(f"{ORG}/domains", json={"domain": "Corp.Example"})
    assert created.status_code == 201
    row = created.get_json()
    assert row["domain"] == "corp.example" and row["status"] == "pending"
    assert row["verification"]["type"] == "TXT"
    assert row["verification"]["name"] == "_gatehouse-challenge.corp.example"

    missing = api.post(f"{ORG}/domains/{row['id']}/verify")
    assert missing.status_code == 422
    assert "No TXT record" in problem_of(missing)["detail"]

    dns.publish(row["verification"]["name"], "some-other-record")
    assert api.post(f"{ORG}/domains/{row['id']}/verify").status_code == 422
    dns.publish(row["verification"]["name"], row["verification"]["value"])
    done = api.post(f"{ORG}/domains/{row['id']}/verify")
    assert done.status_code == 200
    assert done.get_json()["status"] == "verified" and done.get_json()["verified_by"] == "dns"

    # One organization per domain in a tenant.
    api.post("/tenants/acme-corp/orgs", json={"name": "Other", "slug": "other"})
    taken = api.post("/tenants/acme-corp/orgs/other/domains", json={"domain": "corp.example"})
    assert taken.status_code == 409


@pytest.mark.config(DNS_RESOLVER="127.0.0.1:9")  # nothing listens there
def test_dns_that_does_not_answer_is_a_clear_422(api):
    row = api.post(f"{ORG}/domains", json={"domain": "corp.example"}).get_json()
    answer = api.post(f"{ORG}/domains/{row['id']}/verify")
    assert answer.status_code == 422 and "DNS did not answer" in problem_of(answer)["detail"]


def test_only_an_instance_operator_may_skip_dns(app, api):
    row = api.post(f"{ORG}/domains", json={"domain": "corp.example"}).get_json()
    refused = api.post(f"{ORG}/domains/{row['id']}/verify", json={"operator": True})
    assert refused.status_code == 403
    operator = Api(app, create_admin_key(app))
    done = operator.post(f"{ORG}/domains/{row['id']}/verify", json={"operator": True})
    assert done.status_code == 200 and done.get_json()["verified_by"] == "operator"


def test_saml_connection_from_metadata_xml(api, dns, idp):
    verified(api, dns)
    created = api.post(
        f"{ORG}/connections",
        json={
            "kind": "saml",
            "name": "Corp Okta",
            "metadata_xml": idp.metadata,
            "domains": ["corp.example"],
            "enforced": True,
            "role_mapping": {"admins": ["admin"]},
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["id"].startswith("con_") and body["idp_initiated"] is False
    assert body["acs_url"] == f"http://acme-corp.gatehouse.test/sso/saml/{body['id']}/acs"
    assert body["sp_entity_id"].endswith(f"/sso/saml/{body['id']}/metadata")
    assert "client_secret" not in body and "sp_signing_key_encrypted" not in body

    listed = api.get(f"{ORG}/connections").get_json()["items"]
    assert [c["id"] for c in listed] == [body["id"]]
    patched = api.patch(f"{ORG}/connections/{body['id']}", json={"idp_initiated": True})
    assert patched.status_code == 200 and patched.get_json()["idp_initiated"] is True
    kind = api.patch(f"{ORG}/connections/{body['id']}", json={"kind": "oidc"})
    assert kind.status_code == 400
    assert api.delete(f"{ORG}/connections/{body['id']}").status_code == 204
    assert api.get(f"{ORG}/connections/{body['id']}").status_code == 404


def test_sp_private_keys_are_encrypted_at_rest(app, api, dns, idp):
    verified(api, dns)
    body = api.post(
        f"{ORG}/connections", json={"kind": "saml", "name": "Corp", "metadata_xml": idp.metadata}
    ).get_json()
    with app.app_context():
        row = db.session.get(Connection, body["id"])
        assert "PRIVATE KEY" not in row.sp_signing_key_encrypted
        assert "PRIVATE KEY" not in row.sp_encryption_key_encrypted
        assert row.sp_signing_cert != row.sp_encryption_cert


def test_connection_rules(api, dns, idp):
    def refused(payload):
        answer = api.post(f"{ORG}/connections", json=payload)
        assert answer.status_code == 400, answer.get_json()
        return problem_of(answer)["errors"]

    saml = {"kind": "saml", "name": "Corp"}
    assert "metadata_xml" in refused(saml)
    assert "metadata_xml" in refused({**saml, "metadata_xml": "<nope/>"})
    # Domains must be verified by this organization first.
    errors = refused({**saml, "metadata_xml": idp.metadata, "domains": ["corp.example"]})
    assert "not a verified domain" in errors["domains"]
    verified(api, dns)
    errors = refused({**saml, "metadata_xml": idp.metadata, "role_mapping": {"g": ["nope"]}})
    assert "unknown org role" in errors["role_mapping"]
    assert "discovery_url" in refused({"kind": "saml", "name": "x", "discovery_url": "https://a"})
    oidc = refused({"kind": "oidc", "name": "Corp"})
    assert {"discovery_url", "client_id", "client_secret"} <= set(oidc)


def test_saml_metadata_from_a_url(api, dns, idp):
    xml = idp.metadata.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(xml)))
            self.end_headers()
            self.wfile.write(xml)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://localhost:{httpd.server_address[1]}/metadata"
        created = api.post(
            f"{ORG}/connections", json={"kind": "saml", "name": "Corp", "metadata_url": url}
        )
        assert created.status_code == 201, created.get_json()
        assert created.get_json()["metadata_url"] == url
        assert "idp.corp.example" in created.get_json()["metadata_xml"]
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.config(OUTBOUND_ALLOW_PRIVATE=False)
def test_metadata_url_on_a_private_address_is_refused(api):
    answer = api.post(
        f"{ORG}/connections",
        json={"kind": "saml", "name": "Corp", "metadata_url": "http://127.0.0.1:9/metadata"},
    )
    assert answer.status_code == 400
    assert "public address" in problem_of(answer)["errors"]["metadata_url"]


def test_oidc_connection_secret_is_write_only(api):
    created = api.post(
        f"{ORG}/connections",
        json={
            "kind": "oidc",
            "name": "Corp Entra",
            "discovery_url": "https://login.example.com/.well-known/openid-configuration",
            "client_id": "abc",
            "client_secret": "s3cret",
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert "client_secret" not in body and body["scopes"] == ["openid", "email", "profile"]
    assert body["redirect_uri"].endswith(f"/sso/oidc/{body['id']}/callback")


def test_scim_tokens_are_shown_once_and_stored_as_digests(app, api):
    created = api.post(f"{ORG}/scim-tokens", json={"name": "Okta provisioning"})
    assert created.status_code == 201
    body = created.get_json()
    assert body["token"].startswith("gh_scim_") and body["last_used_at"] is None
    listed = api.get(f"{ORG}/scim-tokens").get_json()["items"]
    assert [t["id"] for t in listed] == [body["id"]] and "token" not in listed[0]
    with app.app_context():
        row = db.session.scalar(select(ScimToken))
        assert body["token"] not in row.token_digest and len(row.token_digest) == 64
    assert api.delete(f"{ORG}/scim-tokens/{body['id']}").status_code == 204
    assert api.delete(f"{ORG}/scim-tokens/{body['id']}").status_code == 404
