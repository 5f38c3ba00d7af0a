"""Isolation of the console: tenant A's admin, calling every console route with tenant B's
object ids, gets 404 and B's rows stay as they were; A's admin cannot reach the instance
console or open B through it. The route list comes from the URL map, so a new console
route is covered (or this test fails until it is)."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AdminApiKey
from app.models import BrowserSession
from app.models import Client
from app.models import ClientResourceGrant
from app.models import Connection
from app.models import CustomDomain
from app.models import InitialAccessToken
from app.models import Invitation
from app.models import Membership
from app.models import Organization
from app.models import OrgDomain
from app.models import Resource
from app.models import Role
from app.models import RolePermission
from app.models import ScimToken
from app.models import Tenant
from app.models import TenantLogo
from app.models import User
from app.models import WebhookDelivery
from app.models import WebhookEndpoint
from app.models.provider import UpstreamProvider
from app.services import admin_keys
from app.services import clients as clients_service
from app.services import invitations as invitations_service
from app.services import orgs as orgs_service
from app.services import providers as providers_service
from app.services import webhooks as webhooks_service
from app.services.roles import tenant_role_names
from tests.support.console import console_fixtures
from tests.support.console import sign_in
from tests.support.http import csrf_from
from tests.test_logo import GOOD_SVG

make_console = console_fixtures()

FORM = {
    "status": "disabled",
    "confirm": "globex",
    "roles": ["admin"],
    "email": "b-user@globex.example",
    "name": "Hijacked",
    "slug": "hijacked",
    "client_name": "Hijacked",
    "redirect_uris": "https://evil.example/cb",
    "grant_types": ["authorization_code"],
    "token_endpoint_auth_method": "client_secret_basic",
    "scope": ["openid"],
    "id_token_signed_response_alg": "RS256",
}


@pytest.fixture
def b_objects(app, other_tenant, make_user, tenant_client):
    """Tenant B (globex) with one of everything the console can touch."""
    b_user = make_user(other_tenant, "b-user@globex.example", roles=("admin", "member"))
    session_id = sign_in(app, tenant_client(other_tenant), other_tenant, b_user)
    with app.app_context():
        org = orgs_service.create_org(other_tenant, "B Org")
        orgs_service.add_member(other_tenant, org, b_user, roles=["owner"])
        client, _secret = clients_service.create_client(
            other_tenant, {"client_name": "B App", "redirect_uris": ["https://b.example/cb"]}
        )
        invitation, _token = invitations_service.create_invitation(
            other_tenant, "b-guest@globex.example"
        )
        key, _raw = admin_keys.create_admin_key(other_tenant, "b key")
        provider = providers_service.create_provider(
            other_tenant,
            {"kind": "github", "name": "B Hub", "client_id": "b", "client_secret": "s"},
        )
        from app.services import connections as connections_service
        from app.services import org_domains
        from app.services import scim_tokens

        domain = org_domains.add_domain(other_tenant, org, "globex.example")
        org_domains.verify_domain(other_tenant, domain, operator=True)
        connection = connections_service.create_connection(
            other_tenant,
            org,
            {
                "kind": "oidc",
                "name": "B IdP",
                "discovery_url": "https://idp.globex.example/.well-known/openid-configuration",
                "client_id": "b",
                "client_secret": "s",
                "domains": ["globex.example"],
            },
        )
        scim_token, _ = scim_tokens.create_token(other_tenant, org, "b scim")
        from app.services import registration_tokens

        initial_token, _ = registration_tokens.create_token(other_tenant, "b onboarding")
        from app.services import custom_domains

        custom_domain = custom_domains.add_domain(other_tenant, "login.globex.example")
        endpoint, _ = webhooks_service.create_endpoint(
            other_tenant, {"url": "https://b.example/hook"}
        )
        delivery = webhooks_service.send_test(other_tenant, endpoint)
        from app.services.portability import jobs

        job = jobs.create_job(other_tenant, "b-users.jsonl", None)
        from app.services import logos

        logos.set_logo(other_tenant, GOOD_SVG)
        from app.services import permissions as permissions_service
        from app.services import resources as resources_service
        from app.services import roles as roles_service

        resource = resources_service.create_resource(
            other_tenant,
            {
                "identifier": "https://api.globex.example",
                "name": "B API",
                "permissions": [{"name": "read:b"}],
            },
        )
        role = roles_service.create_role(other_tenant, "tenant", "b-role")
        entry = [{"resource": resource.identifier, "permission": "read:b"}]
        permissions_service.set_role_permissions(other_tenant, role, entry)
        permissions_service.set_client_grants(
            other_tenant, client, [{"resource": resource.identifier, "permissions": ["read:b"]}]
        )
        db.session.commit()
        return {
            "domain_id": domain.id,
            "custom_domain_id": custom_domain.id,
            # Not an object of B: a template name is per tenant (the console's own tenant);
            # an unknown name answers 404 like every other miss.
            "template_name": "no-such-template",
            "connection_id": connection.id,
            "token_id": scim_token.id,
            "registration_token_id": initial_token.id,
            "user_id": b_user.id,
            "org_id": org.id,
            "client_id": client.id,
            "session_id": session_id,
            "invitation_id": invitation.id,
            "key_id": key.id,
            "provider_id": provider.id,
            "webhook_id": endpoint.id,
            "delivery_id": delivery.id,
            "job_id": job.id,
            "resource_id": resource.id,
            "role_id": role.id,
            "tenant_slug": other_tenant.slug,
        }


def snapshot(app, tenant_id):
    """Everything of tenant B the console could change, as plain data."""
    with app.app_context():
        tenant = db.session.get(Tenant, tenant_id)

        def rows(model, *fields):
            stmt = select(model).where(model.tenant_id == tenant_id).order_by(model.id)
            return [tuple(getattr(r, f) for f in fields) for r in db.session.scalars(stmt)]

        users = rows(User, "id", "email", "name", "status", "email_verified", "password_hash")
        return {
            "tenant": (tenant.name, tenant.status, tenant.settings),
            "users": users,
            "roles": [tenant_role_names(tenant, db.session.get(User, u[0])) for u in users],
            "orgs": rows(Organization, "id", "name", "slug", "domains"),
            "members": rows(Membership, "id", "org_id", "user_id"),
            "clients": rows(Client, "id", "client_name", "redirect_uris", "secret_digest"),
            "sessions": rows(BrowserSession, "id", "ended_at"),
            "invitations": rows(Invitation, "id", "revoked_at", "token_digest"),
            "keys": rows(AdminApiKey, "id", "revoked_at"),
            "providers": rows(
                UpstreamProvider, "id", "name", "client_id", "client_secret_encrypted"
            ),
            "domains": rows(OrgDomain, "id", "domain", "verified_at"),
            "custom_domains": rows(CustomDomain, "id", "host", "verified_at"),
            "connections": rows(Connection, "id", "name", "domains", "enforced"),
            "scim_tokens": rows(ScimToken, "id", "name", "token_digest"),
            "initial_access_tokens": rows(InitialAccessToken, "id", "name", "token_digest"),
            "webhooks": rows(WebhookEndpoint, "id", "url", "enabled", "secret_encrypted"),
            "deliveries": rows(WebhookDelivery, "id", "status", "next_attempt_at"),
            "logo": [
                (row.digest, row.content_type)
                for row in db.session.scalars(
                    select(TenantLogo).where(TenantLogo.tenant_id == tenant_id)
                )
            ],
            "resources": rows(Resource, "id", "name", "permissions", "access_token_ttl_seconds"),
            "role_rows": rows(Role, "id", "name", "description"),
            "role_permissions": rows(RolePermission, "id", "role_id", "permission"),
            "resource_grants": rows(ClientResourceGrant, "id", "client_id", "permissions"),
        }


def console_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]


def test_every_console_route_with_b_ids_is_404(app, tenant, other_tenant, b_objects, make_console):
    client = make_console(tenant, "a-admin@acme.example")
    token = csrf_from(client.get("/admin/overview").get_data(as_text=True))
    before = snapshot(app, other_tenant.id)
    checked = 0
    for rule in console_rules(app):
        if not rule.arguments:
            continue
        unknown = rule.arguments - set(b_objects)
        assert not unknown, f"{rule.rule}: add B objects for {unknown} to this suite"
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<{name}>", b_objects[name])
        for method in sorted(rule.methods & {"GET", "POST"}):
            data = {**FORM, "csrf_token": token} if method == "POST" else None
            for headers in ({}, {"HX-Request": "true"}):
                response = client.open(method, path, data=data, headers=headers)
                assert response.status_code == 404, f"{method} {path} {headers}"
            checked += 1
    assert checked >= 30
    assert snapshot(app, other_tenant.id) == before


def test_operator_opening_a_cannot_reach_b_objects_through_it(
    app, tenant, other_tenant, b_objects, make_console
):
    from app.services import tenants as tenants_service

    with app.app_context():
        system = tenants_service.system_tenant()
    client = make_console(system, "operator@gatehouse.example")
    token = csrf_from(client.get("/admin/tenants").get_data(as_text=True))
    before = snapshot(app, other_tenant.id)
    checked = 0
    for rule in console_rules(app):
        if "tenant_slug" not in rule.arguments or len(rule.arguments) < 2:
            continue
        path = rule.rule.replace("<tenant_slug>", tenant.slug)  # A opened, B's ids
        for name in rule.arguments - {"tenant_slug"}:
            path = path.replace(f"<{name}>", b_objects[name])
        for method in sorted(rule.methods & {"GET", "POST"}):
            data = {**FORM, "csrf_token": token} if method == "POST" else None
            assert client.open(method, path, data=data).status_code == 404, f"{method} {path}"
            checked += 1
    assert checked >= 20
    assert snapshot(app, other_tenant.id) == before


def test_b_rows_never_show_up_in_a_lists(app, tenant, other_tenant, b_objects, make_console):
    client = make_console(tenant, "a-admin@acme.example")
    pages = [
        "/admin/users?q=globex",
        "/admin/orgs",
        "/admin/clients",
        "/admin/sessions",
        "/admin/invitations",
        "/admin/api-keys",
        "/admin/audit",
        "/admin/keys",
        "/admin/providers",
        "/admin/resources",
        "/admin/roles",
    ]
    for path in pages:
        body = client.get(path).get_data(as_text=True)
        for value in b_objects.values():
            if value != "globex":
                assert value not in body, (path, value)
        assert "b-user@globex.example" not in body and "B Org" not in body and "B App" not in body


def test_tenant_admin_cannot_use_the_instance_console_on_b(app, tenant, other_tenant, make_console):
    client = make_console(tenant, "a-admin@acme.example")
    token = csrf_from(client.get("/admin/overview").get_data(as_text=True))
    before = snapshot(app, other_tenant.id)
    for method, path in [
        ("GET", "/admin/tenants"),
        ("GET", "/admin/tenants/globex/overview"),
        ("POST", "/admin/tenants/globex/status"),
        ("POST", "/admin/tenants/globex/delete"),
        ("POST", "/admin/tenants/globex/settings"),
        ("POST", "/admin/tenants/globex/settings/logo"),
        ("POST", "/admin/tenants/globex/settings/logo/delete"),
        ("POST", "/admin/tenants/globex/users/new"),
        ("POST", "/admin/tenants/new"),
        ("POST", "/admin/tenants/globex/quotas"),
        ("POST", "/admin/tenants/acme-corp/quotas"),  # not even its own tenant's
        ("GET", "/admin/tenants/globex/usage"),
        ("GET", "/admin/busiest"),
    ]:
        data = {**FORM, "status": "suspended", "csrf_token": token} if method == "POST" else None
        assert client.open(method, path, data=data).status_code == 404, path
    assert snapshot(app, other_tenant.id) == before


def test_b_session_cookie_does_not_open_a_console(
    app, tenant, other_tenant, make_user, tenant_client
):
    b_admin = make_user(other_tenant, "boss@globex.example", roles=("admin",))
    client = tenant_client(tenant)
    sign_in(app, tenant_client(other_tenant), other_tenant, b_admin)
    # The same browser holding B's cookie under A's host name is still anonymous at A.
    from app.services.sessions import start_session
    from app.web.session import cookie_name

    with app.app_context():
        _session, raw = start_session(other_tenant, b_admin, amr=["pwd"])
        db.session.commit()
        name = cookie_name(tenant.id)
    client.client.set_cookie(name, raw, domain=client.host)
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.location
