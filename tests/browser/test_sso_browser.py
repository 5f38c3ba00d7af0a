"""SP-initiated SAML sign-in in headless Chromium: the identifier-first login page sends
grace@corp.example to her organization's IdP (a real pysaml2 IdP served on loopback),
which posts a signed response to the ACS; she lands in the organization with the mapped
role, and loses access the moment SCIM deactivates her."""

from __future__ import annotations

import html
import re
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests

from app.extensions import db
from tests.support.saml_idp import SamlIdp

pytestmark = pytest.mark.browser


class IdpSite:
    """The IdP's web front: /sso shows who signs in, its button posts the response."""

    def __init__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/sso"
        self.idp = SamlIdp(sso_url=self.url)
        self.sp = None  # (entity id, acs) once the connection exists
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                query = parse_qs(urlsplit(self.path).query)
                request = site.idp.parse_request(query["SAMLRequest"][0])
                entity, acs = site.sp
                response = site.idp.response(
                    email="grace@corp.example",
                    sp_entity_id=entity,
                    acs=acs,
                    in_response_to=request.message.id,
                    groups=["eng"],
                )
                page = (
                    "<!doctype html><title>Corp IdP</title><h1>Corp IdP</h1>"
                    f'<form method="post" action="{html.escape(acs)}">'
                    f'<input type="hidden" name="SAMLResponse" value="{response}">'
                    '<input type="hidden" name="RelayState" '
                    f'value="{html.escape(query["RelayState"][0])}">'
                    "<button type=submit>Sign in as grace@corp.example</button></form>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        return Handler

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.idp.close()


@pytest.fixture
def idp_site():
    site = IdpSite()
    yield site
    site.close()


def test_sp_initiated_saml_sign_in_then_scim_deprovisioning(
    live_server, page, idp_site, artifact_path
):
    from app.services import connections
    from app.services import org_domains
    from app.services import orgs
    from app.services import roles
    from app.services import saml
    from app.services import scim_tokens
    from app.services import tenants

    app = live_server.app
    with app.app_context():
        tenant = tenants.create_tenant("Acme Corp", "acme-corp")
        roles.create_role(tenant, "org", "engineer")
        org = orgs.create_org(tenant, "Corp", "corp")
        row = org_domains.add_domain(tenant, org, "corp.example")
        org_domains.verify_domain(tenant, row, operator=True)
        connection = connections.create_connection(
            tenant,
            org,
            {
                "kind": "saml",
                "name": "Corp IdP",
                "metadata_xml": idp_site.idp.metadata,
                "domains": ["corp.example"],
                "role_mapping": {"eng": ["engineer"]},
            },
        )
        _, scim_token = scim_tokens.create_token(tenant, org, "Corp IdP")
        db.session.commit()
        with app.test_request_context():
            idp_site.sp = (saml.entity_id(tenant, connection), saml.acs_url(tenant, connection))
            sp_metadata = saml.sp_metadata(tenant, connection)
        org_id = org.id
    idp_site.idp.trust(sp_metadata)

    origin = live_server.origin("acme-corp")
    page.goto(f"{origin}/login?next=/account")
    assert page.locator("input[name=password]").count() == 0
    page.fill("input[name=email]", "grace@corp.example")
    page.click("button[type=submit]:has-text('Continue')")
    page.wait_for_selector("text=Sign in as grace@corp.example")
    assert page.url.startswith(idp_site.url)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/account/?$"))
    assert page.url.startswith(origin)
    assert page.locator(".nav-user").inner_text() == "grace@corp.example"
    page.screenshot(path=artifact_path("sso-saml-signed-in.png"), full_page=True)

    with app.app_context():
        from app.models import User

        t = tenants.get_tenant("acme-corp")
        user = db.session.scalar(db.select(User).where(User.email == "grace@corp.example"))
        ((joined, held),) = orgs.orgs_of(t, user)
        assert joined.id == org_id and held == ["engineer"]
        user_id = user.id

    # SCIM deactivates her: the very next page load finds her signed out.
    host = f"acme-corp.localhost:{live_server.port}"
    answer = requests.patch(
        f"http://127.0.0.1:{live_server.port}/scim/v2/Users/{user_id}",
        headers={
            "Host": host,
            "Authorization": f"Bearer {scim_token}",
            "Content-Type": "application/scim+json",
        },
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()["active"] is False
    page.goto(f"{origin}/account")
    page.wait_for_url(re.compile(r".*/login\?next=.*"))
