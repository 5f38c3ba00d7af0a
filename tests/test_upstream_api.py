"""Upstream identity providers over the admin API: CRUD, validation, isolation, and the
client secret that never comes back."""

import pytest

from app.extensions import db
from app.models.provider import UpstreamProvider
from app.security import crypto
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of

T = "/tenants/acme-corp"
SECRET = "upstream-client-secret-do-not-leak"
OIDC = {
    "kind": "oidc",
    "name": "Corporate SSO",
    "discovery_url": "https://sso.example.com/.well-known/openid-configuration",
    "client_id": "acme-at-sso",
    "client_secret": SECRET,
}


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app, tenant))


def test_provider_crud_and_redirect_uri(app, api):
    response = api.post(f"{T}/providers", json=OIDC)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["id"].startswith("idp_") and body["kind"] == "oidc"
    assert body["scopes"] == ["openid", "email", "profile"]
    assert body["redirect_uri"] == (
        f"http://acme-corp.gatehouse.test/login/providers/{body['id']}/callback"
    )
    assert api.get(f"{T}/providers/{body['id']}").get_json() == body
    assert [p["id"] for p in api.get(f"{T}/providers").get_json()["items"]] == [body["id"]]

    changed = api.patch(
        f"{T}/providers/{body['id']}", json={"name": "SSO", "client_secret": "rotated"}
    )
    assert changed.status_code == 200 and changed.get_json()["name"] == "SSO"
    with app.app_context():
        stored = db.session.get(UpstreamProvider, body["id"])
        assert SECRET not in stored.client_secret_encrypted
        assert crypto.decrypt(stored.client_secret_encrypted) == b"rotated"

    assert api.delete(f"{T}/providers/{body['id']}").status_code == 204
    assert problem_of(api.get(f"{T}/providers/{body['id']}"))["status"] == 404


def test_presets_fill_in_discovery_and_scopes(api):
    google = api.post(
        f"{T}/providers", json={"kind": "google", "client_id": "g", "client_secret": "s"}
    ).get_json()
    assert google["name"] == "Google"
    assert google["discovery_url"] == "https://accounts.google.com/.well-known/openid-configuration"
    microsoft = api.post(
        f"{T}/providers", json={"kind": "microsoft", "client_id": "m", "client_secret": "s"}
    ).get_json()
    assert "login.microsoftonline.com/common/v2.0" in microsoft["discovery_url"]
    github = api.post(
        f"{T}/providers", json={"kind": "github", "client_id": "h", "client_secret": "s"}
    ).get_json()
    assert github["discovery_url"] is None and "user:email" in github["scopes"]


@pytest.mark.parametrize(
    "change, field",
    [
        (
            {"discovery_url": "http://sso.example.com/.well-known/openid-configuration"},
            "discovery_url",
        ),
        ({"discovery_url": None}, "discovery_url"),
        ({"kind": "saml"}, "kind"),
        ({"client_secret": ""}, "client_secret"),
        ({"scopes": ["email"]}, "scopes"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_invalid_providers_are_problems(api, change, field):
    problem = problem_of(api.post(f"{T}/providers", json={**OIDC, **change}))
    assert problem["status"] == 400 and field in problem["errors"]


def test_http_discovery_only_for_localhost_outside_production(app, make_app, tenant):
    local = {**OIDC, "discovery_url": "http://localhost:8080/.well-known/openid-configuration"}
    api = Api(app, create_admin_key(app, tenant))
    assert api.post(f"{T}/providers", json=local).status_code == 201
    production = make_app(PRODUCTION=True)
    api = Api(production, create_admin_key(production, tenant))
    problem = problem_of(api.post(f"{T}/providers", json=local))
    assert "discovery_url" in problem["errors"]


def test_kind_cannot_change(api):
    body = api.post(f"{T}/providers", json=OIDC).get_json()
    problem = problem_of(api.patch(f"{T}/providers/{body['id']}", json={"kind": "github"}))
    assert problem["status"] == 400


def test_another_tenants_provider_is_not_found(app, api, other_tenant):
    other = Api(app, create_admin_key(app, other_tenant))
    theirs = other.post("/tenants/globex/providers", json=OIDC).get_json()
    for call in (api.get, api.delete):
        assert problem_of(call(f"{T}/providers/{theirs['id']}"))["status"] == 404
    assert (
        problem_of(api.patch(f"{T}/providers/{theirs['id']}", json={"name": "x"}))["status"] == 404
    )
    assert problem_of(api.get(f"/tenants/globex/providers/{theirs['id']}"))["status"] == 404
    assert other.get(f"/tenants/globex/providers/{theirs['id']}").get_json()["name"] == (
        "Corporate SSO"
    )


def test_secret_never_in_any_answer(api, app):
    created = api.post(f"{T}/providers", json=OIDC)
    provider_id = created.get_json()["id"]
    answers = [
        created,
        api.get(f"{T}/providers"),
        api.get(f"{T}/providers/{provider_id}"),
        api.patch(f"{T}/providers/{provider_id}", json={"client_secret": SECRET}),
        api.get(f"{T}/audit"),
        api.get("/openapi.json"),
    ]
    for response in answers:
        assert response.status_code in (200, 201)
        assert SECRET not in response.get_data(as_text=True)
        assert "client_secret_encrypted" not in response.get_data(as_text=True)


def test_openapi_describes_providers(api):
    document = api.get("/openapi.json").get_json()
    assert "/v2/admin/tenants/{tenant}/providers/{provider_id}" in document["paths"]
    assert "client_secret" not in document["components"]["schemas"]["Provider"]["properties"]
