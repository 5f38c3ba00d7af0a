"""Enterprise SSO in the admin console, from the console alone: verify an organization's
domain (a real local DNS server answers), add a SAML connection from the IdP's metadata,
mint a SCIM token (shown once) that then works; another tenant's admin gets 404s."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Connection
from app.models import OrgDomain
from tests.support.console import console_fixtures
from tests.support.saml_idp import SamlIdp
from tests.support.sso_fixtures import dns_app  # noqa: F401
from tests.support.sso_fixtures import local_dns  # noqa: F401

make_console = console_fixtures()


@pytest.fixture
def org_id(app, tenant):
    from app.services import orgs

    with app.app_context():
        org = orgs.create_org(db.session.merge(tenant), "Corp", "corp")
        db.session.commit()
        return org.id


def test_domain_connection_and_scim_token_from_the_console(app, tenant, make_console, org_id, dns):
    admin = make_console(tenant, "boss@acme.example")
    base = f"/admin/orgs/{org_id}/sso"
    assert "Enterprise SSO" in admin.get(f"/admin/orgs/{org_id}").get_data(as_text=True)

    added = admin.submit(
        f"/admin/orgs/{org_id}/domains", {"domain": "corp.example"}, form_path=base
    )
    assert added.status_code == 302
    page = admin.get(base).get_data(as_text=True)
    record = re.search(
        r"<code>(_gatehouse-challenge\.corp\.example)</code> TXT <code>([^<]+)</code>", page
    )
    assert record, page
    with app.app_context():
        domain_id = db.session.scalar(select(OrgDomain.id))
    verify = f"/admin/orgs/{org_id}/domains/{domain_id}/verify"
    missing = admin.submit(verify, {}, form_path=base)
    assert missing.status_code == 422 and "No TXT record" in missing.get_data(as_text=True)
    # A tenant admin cannot claim operator powers by adding the field.
    still = admin.submit(verify, {"operator": "1"}, form_path=base)
    assert still.status_code == 422
    dns.publish(record.group(1), record.group(2))
    assert admin.submit(verify, {}, form_path=base).status_code == 302
    assert "verified (dns)" in admin.get(base).get_data(as_text=True)

    idp = SamlIdp()
    try:
        created = admin.submit(
            f"/admin/orgs/{org_id}/connections",
            {
                "kind": "saml",
                "name": "Corp Okta",
                "metadata_xml": idp.metadata,
                "domains": "corp.example",
                "enforced": "on",
                "role_mapping": "admins = admin",
            },
            form_path=base,
        )
    finally:
        idp.close()
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    with app.app_context():
        connection = db.session.scalar(select(Connection))
        assert connection.domains == ["corp.example"] and connection.enforced
        assert connection.role_mapping == {"admins": ["admin"]}
    detail = admin.get(created.headers["Location"]).get_data(as_text=True)
    assert f"/sso/saml/{connection.id}/acs" in detail and "admins = admin" in detail

    minted = admin.submit(f"/admin/orgs/{org_id}/scim-tokens", {"name": "Okta"}, form_path=base)
    assert minted.status_code == 200
    token = re.search(r"(gh_scim_[A-Za-z0-9_-]+)", minted.get_data(as_text=True)).group(1)
    assert token not in admin.get(base).get_data(as_text=True)  # shown once
    scim = admin.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
    assert scim.status_code == 200 and scim.get_json()["totalResults"] == 0


def test_bad_connection_input_is_a_form_message(app, tenant, make_console, org_id):
    admin = make_console(tenant, "boss@acme.example")
    base = f"/admin/orgs/{org_id}/sso"
    answer = admin.submit(
        f"/admin/orgs/{org_id}/connections",
        {
            "kind": "oidc",
            "name": "Entra",
            "client_secret": "never-shown-secret",
            "role_mapping": "no equals sign",
        },
        form_path=base,
    )
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "group = role" in text and "never-shown-secret" not in text


def test_another_tenants_admin_gets_404(app, tenant, other_tenant, make_console, org_id):
    intruder = make_console(other_tenant, "boss@globex.example")
    assert intruder.get(f"/admin/orgs/{org_id}/sso").status_code == 404
    answer = intruder.submit(
        f"/admin/orgs/{org_id}/scim-tokens", {"name": "x"}, form_path="/admin/orgs"
    )
    assert answer.status_code == 404
