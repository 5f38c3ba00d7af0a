"""Validation hardening (issue #14): whole-string patterns (no "$ before a trailing
newline"), and redirect URIs that are valid absolute URIs."""

from __future__ import annotations

import pytest

from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app))


@pytest.mark.parametrize(
    "branding",
    [
        {"primary_color": "#ffffff\n"},
        {"logo_url": "https://cdn.example/logo.png\n"},
        {"logo_url": "https://cdn.example/a\\b.png"},
    ],
)
def test_branding_with_a_trailing_newline_is_refused(api, branding):
    response = api.patch("/tenants/acme-corp/settings", json={"branding": branding})
    assert response.status_code == 400, response.get_json()
    stored = api.get("/tenants/acme-corp/settings").get_json()["branding"]
    assert all(stored.get(k) != v for k, v in branding.items())


def test_good_branding_is_still_accepted(api):
    branding = {"primary_color": "#ffffff", "logo_url": "https://cdn.example/logo.png"}
    response = api.patch("/tenants/acme-corp/settings", json={"branding": branding})
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("domain", ["exa mple.com", "-bad.example", "example.com\n.evil"])
def test_allowed_email_domains_are_whole_names(api, domain):
    response = api.patch("/tenants/acme-corp/settings", json={"allowed_email_domains": [domain]})
    assert response.status_code == 400


def test_org_slug_with_an_inner_newline_is_refused(api):
    response = api.post("/tenants/acme-corp/orgs", json={"name": "Team", "slug": "team\nx"})
    assert response.status_code == 400


def test_patterns_match_whole_strings():
    """Inputs are stripped before these checks; the patterns must not rely on it."""
    from app.api.validation import check
    from app.services.roles import ROLE_NAME_RE
    from app.services.settings import _DOMAIN_RE
    from app.tenancy import SLUG_RE

    for pattern, value in [(SLUG_RE, "acme"), (ROLE_NAME_RE, "auditor"), (_DOMAIN_RE, "a.io")]:
        assert pattern.fullmatch(value)
        assert not pattern.fullmatch(value + "\n")
    errors: dict = {}
    check({"type": "string", "pattern": "^[a-z0-9-]+$"}, "acme\n", "slug", errors)
    assert errors == {"slug": "has an invalid format"}


@pytest.mark.parametrize(
    "uri",
    [
        'https://app.example.com/cb"onmouseover="x',
        "https://app.example.com/<script>",
        "https://app.example.com/a b",
        "https://app.example.com/a\\b",
        "https://app.example.com/cb%zz",
        "https://app.example.com/cb#frag",
        "app.example.com/cb",
        "https://app.example.com/\u00e9",
    ],
)
@pytest.mark.parametrize("field", ["redirect_uris", "post_logout_redirect_uris"])
def test_redirect_uris_must_be_valid_absolute_uris(api, uri, field):
    body = {
        "client_name": "App",
        "redirect_uris": ["https://app.example.com/cb"],
        field: [uri],
    }
    response = api.post("/tenants/acme-corp/clients", json=body)
    assert response.status_code == 400, response.get_json()
    assert field in problem_of(response)["errors"]


def test_a_valid_redirect_uri_with_query_and_encoding_is_accepted(api):
    uri = "https://app.example.com/cb?next=%2Fhome&x=1"
    body = {"client_name": "App", "redirect_uris": [uri, "http://127.0.0.1:8080/cb"]}
    response = api.post("/tenants/acme-corp/clients", json=body)
    assert response.status_code == 201, response.get_json()
