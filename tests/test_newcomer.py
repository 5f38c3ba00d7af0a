"""A newcomer's way in: the console link on /account for admins, and a way out of the
unknown-workspace 404 page (its brand link goes to the base host)."""

from tests.conftest import BASE_DOMAIN
from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import sign_in


def test_admins_find_the_console_from_their_account(tenant, make_user, tenant_client):
    make_user(tenant, "boss@example.com", roles=("admin",))
    client = tenant_client(tenant)
    assert sign_in(client, "boss@example.com", DEFAULT_PASSWORD).status_code == 302
    html = client.get("/account/").get_data(as_text=True)
    assert 'class="console-link"><a class="btn btn-secondary btn-small" href="/admin/"' in html
    assert client.get("/admin/").status_code in (200, 302)


def test_members_get_no_console_link(tenant, user, tenant_client):
    client = tenant_client(tenant)
    assert sign_in(client, "ada@example.com", DEFAULT_PASSWORD).status_code == 302
    assert "console-link" not in client.get("/account/").get_data(as_text=True)


def test_unknown_workspace_page_links_to_the_base_host(client, tenant):
    response = client.get("/login", base_url=f"http://nope.{BASE_DOMAIN}")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert f'class="brand" href="http://{BASE_DOMAIN}/"' in html
    assert f'<a href="http://{BASE_DOMAIN}/">Go to http://{BASE_DOMAIN}</a>' in html
    on_tenant = client.get("/login", base_url=f"http://acme-corp.{BASE_DOMAIN}")
    assert 'class="brand" href="/"' in on_tenant.get_data(as_text=True)
