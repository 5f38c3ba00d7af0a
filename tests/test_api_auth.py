"""Admin API authentication: admin API keys (instance and tenant) and system-tenant
access tokens with the ``admin`` scope (RFC 6750 bearer)."""

import base64

import pytest

from app.extensions import db
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of


def test_missing_credential_is_401_with_bearer_challenge(app, tenant):
    response = Api(app, None).get("/tenants")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    problem_of(response)


@pytest.mark.parametrize(
    "value", ["Bearer gh_admin_nope", "Bearer eyJ.x.y", "Basic abc", "Bearer "]
)
def test_invalid_credential_is_401(app, tenant, value):
    response = Api(app, None).get("/tenants", headers={"Authorization": value})
    assert response.status_code == 401
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_revoked_key_is_refused(app, tenant):
    from app.models import AdminApiKey
    from app.services import admin_keys

    raw = create_admin_key(app)
    api = Api(app, raw)
    assert api.get("/tenants").status_code == 200
    with app.app_context():
        key = db.session.query(AdminApiKey).one()
        admin_keys.revoke_admin_key(None, key.id)
        db.session.commit()
    response = api.get("/tenants")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_key_use_is_recorded_and_names_the_actor(app, tenant):
    from app.models import AdminApiKey
    from app.models import AuditEvent

    api = Api(app, create_admin_key(app, tenant))
    assert api.patch("/tenants/acme-corp", json={"name": "Acme Inc"}).status_code == 200
    with app.app_context():
        key = db.session.query(AdminApiKey).one()
        assert key.last_used_at is not None
        event = db.session.query(AuditEvent).filter_by(action="tenant.renamed").one()
        assert (event.actor_type, event.actor_id) == ("api_key", key.id)


def test_tenant_key_cannot_list_or_create_tenants(app, tenant):
    api = Api(app, create_admin_key(app, tenant))
    assert problem_of(api.get("/tenants"))["status"] == 403
    response = api.post("/tenants", json={"name": "X", "slug": "x-co", "owner_email": "a@x.com"})
    assert response.status_code == 403


def test_tenant_key_sees_another_tenant_as_missing(app, tenant, other_tenant):
    api = Api(app, create_admin_key(app, tenant))
    assert api.get("/tenants/acme-corp").status_code == 200
    assert api.get("/tenants/globex").status_code == 404
    assert api.get(f"/tenants/{other_tenant.id}").status_code == 404
    # The same answer as for a tenant that does not exist at all.
    assert problem_of(api.get("/tenants/globex")) == problem_of(api.get("/tenants/nowhere"))


def test_tenant_key_cannot_change_its_tenant_status_or_delete_it(app, tenant):
    api = Api(app, create_admin_key(app, tenant))
    assert api.patch("/tenants/acme-corp", json={"status": "suspended"}).status_code == 403
    assert api.delete("/tenants/acme-corp?confirm=acme-corp").status_code == 403
    assert api.get("/tenants/acme-corp").get_json()["status"] == "active"


def test_key_of_a_suspended_tenant_is_refused(app, tenant):
    tenant_api = Api(app, create_admin_key(app, tenant))
    instance_api = Api(app, create_admin_key(app))
    assert instance_api.patch("/tenants/acme-corp", json={"status": "suspended"}).status_code == 200
    assert tenant_api.get("/tenants/acme-corp").status_code == 403
    # The instance key still manages the suspended tenant and resumes it.
    assert instance_api.patch("/tenants/acme-corp", json={"status": "active"}).status_code == 200
    assert tenant_api.get("/tenants/acme-corp").status_code == 200


def test_api_answers_on_tenant_hosts_scoped_by_the_path(app, tenant, other_tenant):
    key = create_admin_key(app, tenant)
    on_acme = Api(app, key, base_url="http://acme-corp.gatehouse.test")
    on_globex = Api(app, key, base_url="http://globex.gatehouse.test")
    assert on_acme.get("/tenants/acme-corp").status_code == 200
    # The host does not widen a tenant key's reach, nor narrow it.
    assert on_acme.get("/tenants/globex").status_code == 404
    assert on_globex.get("/tenants/acme-corp").status_code == 200


def test_openapi_document_is_public(app):
    response = Api(app, None).get("/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.1")


def _system_client(app, scope: str, grant_types=("client_credentials",)):
    from app.services import clients as clients_service
    from app.services import tenants as tenants_service

    with app.app_context():
        system = tenants_service.system_tenant()
        client, secret = clients_service.create_client(
            system,
            {"client_name": "ops robot", "grant_types": list(grant_types), "scope": scope},
        )
        db.session.commit()
        return client.id, secret


def _token(app, client_id, secret, scope, host="gatehouse.test"):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = app.test_client().post(
        "/oauth2/token",
        base_url=f"http://{host}",
        data={"grant_type": "client_credentials", "scope": scope},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def test_system_access_token_with_admin_scope_is_an_instance_credential(app, tenant):
    from app.models import AuditEvent

    client_id, secret = _system_client(app, "admin")
    token = _token(app, client_id, secret, "admin")
    api = Api(app, token)
    assert api.get("/tenants").status_code == 200
    assert api.patch("/tenants/acme-corp", json={"name": "Acme Two"}).status_code == 200
    with app.app_context():
        event = db.session.query(AuditEvent).filter_by(action="tenant.renamed").one()
        assert (event.actor_type, event.actor_id) == ("client", client_id)


def test_access_token_without_admin_scope_is_refused(app, tenant):
    client_id, secret = _system_client(app, "openid")
    token = _token(app, client_id, secret, "openid")
    response = Api(app, token).get("/tenants")
    assert response.status_code == 401


def test_access_token_of_another_tenant_is_refused(app, tenant):
    from app.services import clients as clients_service
    from app.services.errors import ValidationFailed

    with app.app_context():
        acme = db.session.merge(tenant)
        robot = {"client_name": "acme robot", "grant_types": ["client_credentials"]}
        # Only the system tenant's clients may hold the admin scope ...
        with pytest.raises(ValidationFailed):
            clients_service.create_client(acme, {**robot, "scope": "admin"})
        client, secret = clients_service.create_client(acme, {**robot, "scope": "openid"})
        db.session.commit()
    # ... and a token signed by another tenant is not a system token at all.
    token = _token(app, client.id, secret, "openid", host="acme-corp.gatehouse.test")
    response = Api(app, token).get("/tenants/acme-corp")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
