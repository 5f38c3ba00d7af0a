"""Builders for enterprise SSO tests: an organization with a verified domain (through a
real local DNS server) and a SAML connection to a real pysaml2 IdP."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from app.extensions import db
from tests.support.saml_idp import SamlIdp


@dataclass
class SamlSetup:
    tenant: object
    org_id: str
    connection_id: str
    idp: SamlIdp
    sp_entity_id: str
    acs: str


def verified_org(app, tenant, dns, *, slug="corp", domain="corp.example"):
    """An organization of ``tenant`` whose ``domain`` is verified by a real TXT lookup."""
    from app.services import org_domains
    from app.services import orgs

    with app.app_context():
        tenant = db.session.merge(tenant)
        org = orgs.create_org(tenant, slug.title(), slug)
        row = org_domains.add_domain(tenant, org, domain)
        record = org_domains.record_of(row)
        dns.publish(record.name, record.value)
        org_domains.verify_domain(tenant, row)
        db.session.commit()
        return org.id


def saml_connection(app, tenant, org_id, *, idp=None, **fields) -> SamlSetup:
    """A SAML connection of the org to a fresh test IdP, which trusts our SP metadata."""
    from app.services import connections
    from app.services import orgs
    from app.services import saml

    idp = idp or SamlIdp()
    with app.app_context():
        tenant = db.session.merge(tenant)
        org = orgs.get_org(tenant, org_id)
        values = {"kind": "saml", "name": "Corp IdP", "metadata_xml": idp.metadata}
        values.setdefault("domains", ["corp.example"])
        values.update(fields)
        connection = connections.create_connection(tenant, org, values)
        db.session.commit()
        app.config["SERVER_NAME"] = None
        with app.test_request_context():
            sp_metadata = saml.sp_metadata(tenant, connection)
            entity, acs = saml.entity_id(tenant, connection), saml.acs_url(tenant, connection)
    idp.trust(sp_metadata)
    return SamlSetup(tenant, org_id, connection.id, idp, entity, acs)


def start_sign_in(browser, setup: SamlSetup, next_url="/account") -> tuple[str, str]:
    """GET our login start; returns (AuthnRequest ID, RelayState) the IdP received."""
    answer = browser.get(f"/sso/saml/{setup.connection_id}/login?next={next_url}")
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    location = answer.headers["Location"]
    assert location.startswith(setup.idp.sso_url)
    query = parse_qs(urlsplit(location).query)
    request = setup.idp.parse_request(query["SAMLRequest"][0])
    return request.message.id, query["RelayState"][0]
