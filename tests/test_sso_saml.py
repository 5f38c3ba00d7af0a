"""SAML 2.0 sign-in through an organization's connection, against a real pysaml2 IdP:
SP metadata, a signed AuthnRequest, the ACS and its refusals, JIT provisioning."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models import BrowserSession
from app.models import User
from tests.support.saml_idp import SamlIdp
from tests.support.sso import saml_connection
from tests.support.sso import start_sign_in
from tests.support.sso import verified_org
from tests.support.sso_fixtures import dns_app  # noqa: F401
from tests.support.sso_fixtures import local_dns  # noqa: F401


@pytest.fixture
def setup(app, tenant, dns):
    from app.services import roles

    with app.app_context():
        roles.create_role(db.session.merge(tenant), "org", "engineer")
        db.session.commit()
    org_id = verified_org(app, tenant, dns)
    result = saml_connection(app, tenant, org_id, role_mapping={"eng": ["engineer"]})
    yield result
    result.idp.close()


@pytest.fixture
def browser(tenant_client, tenant):
    return tenant_client(tenant)


def post_acs(browser, setup, response, relay_state=None):
    data = {"SAMLResponse": response}
    if relay_state is not None:
        data["RelayState"] = relay_state
    # As a browser posts it: from the IdP's origin (the origin guard lets the ACS take it).
    headers = {"Origin": "https://idp.corp.example"}
    return browser.post(f"/sso/saml/{setup.connection_id}/acs", data=data, headers=headers)


def respond(setup, request_id, **kwargs):
    kwargs.setdefault("email", "grace@corp.example")
    return setup.idp.response(
        sp_entity_id=setup.sp_entity_id, acs=setup.acs, in_response_to=request_id, **kwargs
    )


def refusals(app):
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sso.refused"))
        return [row.data.get("reason") for row in rows]


def users_of(app, tenant):
    with app.app_context():
        return list(db.session.scalars(select(User).where(User.tenant_id == tenant.id)))


def test_sp_metadata_names_the_acs_and_both_certificates(browser, setup):
    answer = browser.get(f"/sso/saml/{setup.connection_id}/metadata")
    assert answer.status_code == 200
    assert answer.mimetype == "application/samlmetadata+xml"
    xml = answer.get_data(as_text=True)
    assert setup.acs in xml and f'entityID="{setup.sp_entity_id}"' in xml
    assert 'use="signing"' in xml and 'use="encryption"' in xml


def test_sp_initiated_sign_in_provisions_into_the_org(app, browser, setup, tenant):
    request_id, relay_state = start_sign_in(browser, setup)
    answer = post_acs(browser, setup, respond(setup, request_id, groups=["eng"]), relay_state)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:800]
    assert answer.headers["Location"].endswith("/account")
    assert browser.get("/account").status_code == 200
    with app.app_context():
        from app.services import orgs

        (user,) = users_of(app, tenant)
        assert user.email == "grace@corp.example" and user.email_verified
        assert user.password_hash is None
        ((org, roles),) = orgs.orgs_of(db.session.merge(tenant), user)
        assert org.id == setup.org_id and roles == ["engineer"]
        session = db.session.scalar(select(BrowserSession).where(BrowserSession.user_id == user.id))
        assert session.amr == ["ext"] and session.idp == setup.connection_id


def test_encrypted_assertions_are_accepted(app, browser, setup, tenant):
    request_id, relay_state = start_sign_in(browser, setup)
    response = respond(setup, request_id, encrypt=True, sign_response=True)
    assert b"EncryptedAssertion" in base64.b64decode(response)
    answer = post_acs(browser, setup, response, relay_state)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:800]
    assert [u.email for u in users_of(app, tenant)] == ["grace@corp.example"]


def test_unsigned_response_is_refused(app, browser, setup, tenant):
    request_id, relay_state = start_sign_in(browser, setup)
    response = respond(setup, request_id, sign_response=False, sign_assertion=False)
    assert post_acs(browser, setup, response, relay_state).status_code == 400
    assert users_of(app, tenant) == [] and refusals(app)


def test_response_signed_by_another_key_is_refused(app, browser, setup, tenant):
    impostor = SamlIdp()  # same entity ID, its own key
    impostor.trust_from(setup.idp)
    request_id, relay_state = start_sign_in(browser, setup)
    response = impostor.response(
        email="grace@corp.example",
        sp_entity_id=setup.sp_entity_id,
        acs=setup.acs,
        in_response_to=request_id,
    )
    assert post_acs(browser, setup, response, relay_state).status_code == 400
    assert users_of(app, tenant) == []
    impostor.close()


def test_wrong_audience_is_refused(app, browser, setup, tenant, dns):
    # The IdP also serves another SP (another organization's connection): an assertion
    # for that audience, posted to our ACS, is not for us.
    other_org = verified_org(app, tenant, dns, slug="other", domain="other.example")
    other = saml_connection(app, tenant, other_org, idp=setup.idp, domains=["other.example"])
    request_id, relay_state = start_sign_in(browser, setup)
    response = respond(setup, request_id, audience=other.sp_entity_id)
    assert post_acs(browser, setup, response, relay_state).status_code == 400
    assert users_of(app, tenant) == []


def test_expired_assertion_is_refused(app, browser, setup, tenant):
    setup.idp.lifetime_minutes = -10
    setup.idp.server = setup.idp._server()
    request_id, relay_state = start_sign_in(browser, setup)
    assert post_acs(browser, setup, respond(setup, request_id), relay_state).status_code == 400
    assert users_of(app, tenant) == []


def test_replayed_response_is_refused(app, browser, setup, tenant, tenant_client):
    request_id, relay_state = start_sign_in(browser, setup)
    response = respond(setup, request_id)
    assert post_acs(browser, setup, response, relay_state).status_code == 302
    again = tenant_client(tenant)
    assert post_acs(again, setup, response, relay_state).status_code == 400
    assert "replay" in refusals(app)


def test_unsolicited_response_needs_idp_initiated(app, browser, setup, tenant):
    response = respond(setup, None)
    assert post_acs(browser, setup, response).status_code == 400
    assert "unsolicited" in refusals(app) or refusals(app)
    with app.app_context():
        from app.models import Connection

        db.session.get(Connection, setup.connection_id).idp_initiated = True
        db.session.commit()
    assert post_acs(browser, setup, respond(setup, None)).status_code == 302


def test_signature_wrapping_is_refused(app, browser, setup, tenant, make_user):
    make_user(tenant, "victim@corp.example")
    request_id, relay_state = start_sign_in(browser, setup)
    genuine = base64.b64decode(respond(setup, request_id, sign_response=False)).decode()
    start = genuine.index("<ns1:Assertion") if "<ns1:Assertion" in genuine else None
    assert start is not None, genuine[:400]
    end = genuine.index("</ns1:Assertion>") + len("</ns1:Assertion>")
    signed = genuine[start:end]
    evil = signed.replace("grace@corp.example", "victim@corp.example")
    evil = evil.replace('ID="', 'ID="evil', 1)
    # The forged assertion first, the genuinely signed one tucked in after it.
    wrapped = genuine[:start] + evil + signed + genuine[end:]
    answer = post_acs(browser, setup, base64.b64encode(wrapped.encode()).decode(), relay_state)
    assert answer.status_code == 400
    # And the signed one hidden inside the forged one's Advice.
    body = evil.replace("<ns1:Conditions", f"<ns1:Advice>{signed}</ns1:Advice><ns1:Conditions", 1)
    nested = genuine[:start] + body + genuine[end:]
    answer = post_acs(browser, setup, base64.b64encode(nested.encode()).decode(), relay_state)
    assert answer.status_code == 400
    assert [u.email for u in users_of(app, tenant)] == ["victim@corp.example"]


def test_comment_in_name_id_is_refused(app, browser, setup, tenant):
    request_id, relay_state = start_sign_in(browser, setup)
    xml = base64.b64decode(respond(setup, request_id, email="grace@corp.example")).decode()
    tricked = xml.replace("grace@corp.example", "grace@corp.example<!---->.evil", 1)
    answer = post_acs(browser, setup, base64.b64encode(tricked.encode()).decode(), relay_state)
    assert answer.status_code == 400 and "xml_comment" in refusals(app)


def test_another_orgs_connection_refuses_the_response(app, browser, setup, tenant, dns):
    other_org = verified_org(app, tenant, dns, slug="other", domain="other.example")
    other = saml_connection(app, tenant, other_org, idp=setup.idp, domains=["other.example"])
    request_id, relay_state = start_sign_in(browser, setup)
    response = respond(setup, request_id)
    # Posted to the other organization's ACS: wrong audience/destination, wrong relay.
    answer = browser.post(
        f"/sso/saml/{other.connection_id}/acs",
        data={"SAMLResponse": response, "RelayState": relay_state},
    )
    assert answer.status_code == 400 and users_of(app, tenant) == []


def test_another_tenants_host_does_not_know_the_connection(app, setup, other_tenant, tenant_client):
    foreign = tenant_client(other_tenant)
    assert foreign.get(f"/sso/saml/{setup.connection_id}/metadata").status_code == 404
    answer = foreign.post(f"/sso/saml/{setup.connection_id}/acs", data={"SAMLResponse": "x"})
    assert answer.status_code == 404


def test_assertion_for_a_foreign_domain_is_refused(app, browser, setup, tenant):
    request_id, relay_state = start_sign_in(browser, setup)
    response = respond(setup, request_id, email="boss@elsewhere.example")
    assert post_acs(browser, setup, response, relay_state).status_code == 403
    assert "foreign_domain" in refusals(app) and users_of(app, tenant) == []


def test_unverified_account_made_in_advance_loses_its_password(app, browser, setup, tenant):
    """Account pre-hijacking: someone signed up grace@corp.example with their own password
    before Grace first came through her IdP; the password must not survive the handover."""
    from app.services import users

    with app.app_context():
        users.create_user(
            db.session.merge(tenant),
            "grace@corp.example",
            password="attacker chosen password 1",
            email_verified=False,
        )
        db.session.commit()
    request_id, relay_state = start_sign_in(browser, setup)
    assert post_acs(browser, setup, respond(setup, request_id), relay_state).status_code == 302
    (user,) = users_of(app, tenant)
    assert user.email_verified and user.password_hash is None


def test_deprovisioned_person_cannot_come_back_through_the_idp(
    app, browser, setup, tenant, tenant_client
):
    from app.models import Organization
    from app.services import scim

    request_id, relay_state = start_sign_in(browser, setup)
    assert post_acs(browser, setup, respond(setup, request_id), relay_state).status_code == 302
    (user,) = users_of(app, tenant)
    with app.app_context():
        t = db.session.merge(tenant)
        org = db.session.get(Organization, setup.org_id)
        scim.set_active(t, org, scim.get_user(t, org, user.id), False)
        db.session.commit()
    again = tenant_client(tenant)
    request_id, relay_state = start_sign_in(again, setup)
    answer = post_acs(again, setup, respond(setup, request_id), relay_state)
    assert answer.status_code == 403 and again.get("/account").status_code == 302
    assert "disabled" in refusals(app)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x",
        "%%%",
        base64.b64encode(b"<not-saml/>").decode(),
        "A" * 600_000,
        base64.b64encode(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>").decode(),
    ],
    ids=["empty", "junk", "not-base64", "not-saml", "huge", "dtd"],
)
def test_garbage_at_the_acs_is_a_clear_400(app, browser, setup, value):
    answer = post_acs(browser, setup, value)
    assert answer.status_code == 400
    assert "refused" in answer.get_data(as_text=True).lower()
