"""A tenant key of A never reaches B: every endpoint of the OpenAPI document, called with
B's slug, B's id, or A's slug with B's object ids, answers 404 and changes nothing in B."""

import re

import pytest
from sqlalchemy import select

from app.api.openapi import DOCUMENT
from app.extensions import db
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of


def _png() -> bytes:
    """A small real PNG (the logo upload's body)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 0)).save(out, "PNG")
    return out.getvalue()


BODIES = {
    "TenantUpdate": {"name": "Pwned", "status": "suspended"},
    "TenantDelete": {"confirm": "globex"},
    "SettingsUpdate": {"signup_mode": "open"},
    "UserCreate": {"email": "intruder@example.com"},
    "UserUpdate": {"name": "Pwned", "status": "disabled"},
    "RolesReplace": {"roles": ["admin"]},
    "RoleCreate": {"name": "pwned"},
    "RoleUpdate": {"description": "pwned"},
    "OrgCreate": {"name": "Pwned"},
    "OrgUpdate": {"name": "Pwned"},
    "OrgDelete": {"confirm": "globex-eng"},
    "MemberAdd": {"user_id": "{user_id}"},
    "InvitationCreate": {"email": "intruder@example.com"},
    "ClientCreate": {"client_name": "Pwned", "grant_types": ["client_credentials"]},
    "ClientUpdate": {"client_name": "Pwned"},
    "AdminKeyCreate": {"name": "pwned"},
    "ProviderCreate": {"kind": "github", "client_id": "pwned", "client_secret": "pwned"},
    "ProviderUpdate": {"name": "Pwned"},
    "OrgDomainCreate": {"domain": "pwned.example"},
    "OrgDomainVerify": {"operator": True},
    "DomainCreate": {"host": "login.pwned.example"},
    "EmailTemplatePut": {"subject": "Pwned", "text": "{{ link }}"},
    "ConnectionCreate": {"kind": "saml", "name": "Pwned", "metadata_xml": "<x/>"},
    "ConnectionUpdate": {"name": "Pwned", "enforced": True},
    "ScimTokenCreate": {"name": "pwned"},
    "RegistrationTokenCreate": {"name": "pwned", "max_uses": 1},
    "WebhookCreate": {"url": "https://pwned.example/hook"},
    "WebhookUpdate": {"url": "https://pwned.example/hook"},
    "WebhookSecretRotate": {"overlap_seconds": 0},
    "UserImportFile": [{"email": "intruder@example.com"}],
    "image/png": _png(),
    "ResourceCreate": {"identifier": "https://api.globex.example", "name": "Pwned"},
    "ResourceUpdate": {"name": "Pwned", "permissions": []},
}
INSTANCE_ONLY = {("/v2/admin/tenants", "get"), ("/v2/admin/tenants", "post")}


def _fixture_b(app, other_tenant, make_user):
    """Rows of every kind in tenant B; returns the ids the paths need."""
    from app.services import admin_keys
    from app.services import clients
    from app.services import connections
    from app.services import custom_domains
    from app.services import invitations
    from app.services import org_domains
    from app.services import orgs
    from app.services import permissions
    from app.services import providers
    from app.services import resources
    from app.services import roles
    from app.services import scim_tokens
    from app.services import sessions
    from app.services import webhooks

    bob = make_user(other_tenant, "bob@globex.com")
    with app.app_context():
        b = db.session.merge(other_tenant)
        user = db.session.merge(bob)
        org = orgs.create_org(b, "Globex Eng", "globex-eng")
        orgs.add_member(b, org, user, ["owner"])
        client, _ = clients.create_client(
            b, {"client_name": "Globex App", "grant_types": ["client_credentials"]}
        )
        invitation, _ = invitations.create_invitation(b, "carol@globex.com")
        role = roles.create_role(b, "tenant", "auditor")
        session, _ = sessions.start_session(b, user, amr=["pwd"])
        key, _ = admin_keys.create_admin_key(b, "globex ops")
        provider = providers.create_provider(
            b, {"kind": "github", "client_id": "globex-gh", "client_secret": "s3cret"}
        )
        domain = org_domains.add_domain(b, org, "globex.example")
        org_domains.verify_domain(b, domain, operator=True)
        connection = connections.create_connection(
            b,
            org,
            {
                "kind": "oidc",
                "name": "Globex IdP",
                "discovery_url": "https://idp.globex.example/.well-known/openid-configuration",
                "client_id": "globex",
                "client_secret": "s3cret",
                "domains": ["globex.example"],
            },
        )
        token, _ = scim_tokens.create_token(b, org, "globex scim")
        from app.services import registration_tokens

        initial_token, _ = registration_tokens.create_token(b, "globex onboarding")
        custom_domain = custom_domains.add_domain(b, "login.globex.example")
        endpoint, _ = webhooks.create_endpoint(b, {"url": "https://globex.example/hook"})
        delivery = webhooks.send_test(b, endpoint)
        from app.services.portability import jobs

        job = jobs.create_job(b, "globex.jsonl", None)
        from app.services import logos

        logos.set_logo(b, _png())
        api = resources.create_resource(
            b,
            {
                "identifier": "https://api.globex.example",
                "name": "Globex API",
                "permissions": [{"name": "read:all"}],
            },
        )
        entry = [{"resource": api.identifier, "permission": "read:all"}]
        permissions.set_role_permissions(b, role, entry)
        permissions.set_client_grants(
            b, client, [{"resource": api.identifier, "permissions": ["read:all"]}]
        )
        db.session.commit()
        return {
            "domain_id": domain.id,
            "custom_domain_id": custom_domain.id,
            # Not an object of B: template names are per tenant (A's own slug with a real
            # name reaches A's template); an unknown name answers 404 like every miss.
            "template_name": "no-such-template",
            "connection_id": connection.id,
            "token_id": token.id,
            "user_id": user.id,
            "org": org.id,
            "client_id": client.id,
            "invitation_id": invitation.id,
            "role": role.id,
            "session_id": session.id,
            "key_id": key.id,
            "provider_id": provider.id,
            "webhook_id": endpoint.id,
            "delivery_id": delivery.id,
            "job_id": job.id,
            "resource_id": api.id,
            "registration_token_id": initial_token.id,
        }


def _snapshot(app, tenant_id):
    """Every row B owns (all tenant-owned tables, its tenant row and its API keys)."""
    with app.app_context():
        rows = {}
        for table in db.metadata.sorted_tables:
            if table.name == "tenants":
                stmt = select(table).where(table.c.id == tenant_id)
            elif "tenant_id" in table.c:
                stmt = select(table).where(table.c.tenant_id == tenant_id)
            else:
                continue
            found = [dict(r) for r in db.session.execute(stmt).mappings()]
            for row in found:
                row.pop("last_used_at", None)
            rows[table.name] = sorted(found, key=repr)
        return rows


def _operations():
    for path, item in DOCUMENT["paths"].items():
        if "{tenant}" not in path:
            continue
        for method, operation in item.items():
            if method == "parameters":
                continue
            body = operation.get("requestBody")
            if body is None:
                schema = None
            elif "application/json" in body["content"]:
                schema = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            else:  # a binary upload (the logo): one of its media types
                schema = next(iter(body["content"]))
            yield path, method, schema


def _fill(path: str, tenant_ref: str, ids: dict) -> str:
    path = path.replace("{tenant}", tenant_ref)
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


def _body(schema, ids):
    if schema is None or isinstance(BODIES[schema], bytes):
        return None
    if isinstance(BODIES[schema], list):
        return BODIES[schema]
    body = dict(BODIES[schema])
    return {k: (ids["user_id"] if v == "{user_id}" else v) for k, v in body.items()}


@pytest.fixture
def world(app, tenant, other_tenant, make_user):
    ids = _fixture_b(app, other_tenant, make_user)
    return {"api": Api(app, create_admin_key(app, tenant)), "ids": ids, "b": other_tenant}


def test_every_operation_is_covered():
    covered = {(p, m) for p, m, _ in _operations()}
    assert len(covered) >= 40
    for path, method, schema in _operations():
        assert schema is None or schema in BODIES, (path, method)


def test_tenant_key_of_a_gets_404_everywhere_in_b(app, world):
    api, ids, b = world["api"], world["ids"], world["b"]
    before = _snapshot(app, b.id)
    checked = 0
    for path, method, schema in _operations():
        refs = ["globex", b.id]
        if re.search(r"\{(?!tenant\})\w+\}", path):
            refs.append("acme-corp")  # A's own slug with B's object ids
        for ref in refs:
            url = _fill(path, ref, ids)
            if schema and isinstance(BODIES[schema], bytes):
                response = api.call(
                    method.upper(), url, data=BODIES[schema], headers={"Content-Type": schema}
                )
            else:
                response = api.call(method.upper(), url, json=_body(schema, ids))
            assert response.status_code == 404, (method, url, response.get_data(as_text=True))
            problem_of(response)
            checked += 1
    assert checked > 100
    assert _snapshot(app, b.id) == before


def test_b_ids_in_bodies_and_filters_do_not_reach_b(app, world):
    api, ids, b = world["api"], world["ids"], world["b"]
    before = _snapshot(app, b.id)
    org = api.post("/tenants/acme-corp/orgs", json={"name": "Acme Eng"}).get_json()
    problem = problem_of(
        api.post(f"/tenants/acme-corp/orgs/{org['id']}/members", json={"user_id": ids["user_id"]})
    )
    assert problem["status"] == 400 and "user_id" in problem["errors"]
    problem = problem_of(
        api.post(
            "/tenants/acme-corp/invitations", json={"email": "x@acme.com", "org_id": ids["org"]}
        )
    )
    assert "org_id" in problem["errors"]
    sessions = api.get(f"/tenants/acme-corp/sessions?user_id={ids['user_id']}").get_json()
    assert sessions["items"] == []
    audit = api.get(f"/tenants/acme-corp/audit?target={ids['user_id']}").get_json()
    assert audit["items"] == []
    # Listings of A never show B's rows.
    assert ids["user_id"] not in str(api.get("/tenants/acme-corp/users").get_json())
    assert ids["client_id"] not in str(api.get("/tenants/acme-corp/clients").get_json())
    assert _snapshot(app, b.id) == before


def test_instance_only_operations_are_403_for_a_tenant_key(world):
    api = world["api"]
    for path, method in INSTANCE_ONLY:
        assert api.call(method.upper(), path, json={}).status_code == 403
    assert api.get("/admin-keys").status_code == 403
    assert api.delete(f"/admin-keys/{world['ids']['key_id']}").status_code == 403
