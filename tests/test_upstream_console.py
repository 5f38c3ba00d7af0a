"""Identity providers in the admin console: add, edit, replace the secret, delete; the
secret is on no page; another tenant's provider is a 404."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.provider import UpstreamProvider
from app.security import crypto
from tests.support.console import console_fixtures

make_console = console_fixtures()
SECRET = "console-secret-never-shown"


@pytest.fixture
def admin(tenant, make_console):
    return make_console(tenant, "boss@acme.example")


def test_add_edit_delete_provider(app, admin, tenant):
    assert "Identity providers" in admin.get("/admin/overview").get_data(as_text=True)
    form = {
        "kind": "oidc",
        "name": "Corporate SSO",
        "discovery_url": "https://sso.example.com/.well-known/openid-configuration",
        "client_id": "acme",
        "client_secret": SECRET,
        "scopes": "",
    }
    created = admin.submit("/admin/providers/new", form)
    assert created.status_code == 302, created.get_data(as_text=True)
    with app.app_context():
        row = db.session.scalar(select(UpstreamProvider))
        provider_id = row.id
        assert row.tenant_id == tenant.id and row.scopes == ["openid", "email", "profile"]
    page = admin.get(f"/admin/providers/{provider_id}").get_data(as_text=True)
    assert f"/login/providers/{provider_id}/callback" in page and SECRET not in page
    listing = admin.get("/admin/providers").get_data(as_text=True)
    assert "Corporate SSO" in listing and SECRET not in listing

    # Saving without a secret keeps it; a new one replaces it.
    path = f"/admin/providers/{provider_id}"
    kept = admin.submit(path, {"name": "SSO", "client_id": "acme", "scopes": "openid email"})
    assert kept.status_code == 302
    replaced = admin.submit(path, {"name": "SSO", "client_id": "acme", "client_secret": "new"})
    assert replaced.status_code == 302
    with app.app_context():
        row = db.session.get(UpstreamProvider, provider_id)
        assert row.name == "SSO" and crypto.decrypt(row.client_secret_encrypted) == b"new"

    bad = admin.submit(path, {"name": "SSO", "client_id": "", "discovery_url": "ftp://x"})
    assert bad.status_code == 422 and "is required" in bad.get_data(as_text=True)

    deleted = admin.submit(f"{path}/delete", {}, form_path=path)
    assert deleted.status_code == 302
    with app.app_context():
        assert db.session.get(UpstreamProvider, provider_id) is None


def test_invalid_new_provider_is_a_form_error(admin):
    answer = admin.submit(
        "/admin/providers/new",
        {
            "kind": "oidc",
            "name": "X",
            "discovery_url": "http://sso.example.com/x",
            "client_id": "a",
            "client_secret": SECRET,
        },
    )
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "must use https" in body and SECRET not in body


def test_preset_needs_no_discovery_url(app, admin):
    answer = admin.submit(
        "/admin/providers/new",
        {"kind": "github", "name": "", "client_id": "gh", "client_secret": "s"},
    )
    assert answer.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(UpstreamProvider))
        assert (row.kind, row.name, row.discovery_url) == ("github", "GitHub", None)


def test_another_tenants_provider_is_not_found(app, admin, other_tenant):
    from app.services import providers

    with app.app_context():
        theirs = providers.create_provider(
            other_tenant, {"kind": "github", "client_id": "g", "client_secret": SECRET}
        )
        db.session.commit()
        theirs_id = theirs.id
    assert admin.get(f"/admin/providers/{theirs_id}").status_code == 404
    answer = admin.submit(f"/admin/providers/{theirs_id}/delete", {}, form_path="/admin/providers")
    assert answer.status_code == 404
    with app.app_context():
        assert db.session.get(UpstreamProvider, theirs_id) is not None
