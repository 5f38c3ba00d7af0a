"""axe-core on every console page (#20), in Chromium, in the light and the dark theme, at
390 and 1280 px: no serious or critical WCAG 2.2 A/AA violations.

The pages are not listed by hand: they are every GET rule of the ``admin`` blueprint, so
a new console page is checked as soon as it exists, or this test fails naming it (a page
whose URL needs an id that :func:`world` does not make, or a GET that is not a page and
is not in :data:`NOT_PAGES`).

- Tenant views (registered by ``tenant_route`` at ``/admin/<rule>`` and, for instance
  operators, ``/admin/tenants/<slug>/<rule>``) are checked in Acme's own console, as its
  admin. The same views opened by an operator differ only by the layout (the instance
  navigation and the "opened tenant" bar), which :data:`OPERATOR_SAMPLE` checks.
- Instance views (only ``/admin/...`` on the system tenant) are checked as an operator.

To stay fast on a small machine there is one browser context per console, each page is
loaded once, and the four variants (2 widths x 2 themes) are media changes on the loaded
page (the console's layout and dark theme are CSS media queries only), each with a full
axe run.
"""

from __future__ import annotations

import time

import pytest

from app.extensions import db
from app.models import Role
from app.models import User
from app.services import clients
from app.services import connections
from app.services import custom_domains
from app.services import invitations
from app.services import orgs
from app.services import providers
from app.services import resources
from app.services import tenants as tenants_service
from app.services import webhooks
from app.services.portability import jobs
from app.services.sessions import start_session
from app.tenancy import scope
from app.web.session import cookie_name
from tests.support import axe

pytestmark = pytest.mark.browser

# GET endpoints of the console that are not pages, and why.
NOT_PAGES = {
    "admin.index": "redirects to the overview",
    "admin.tenants_open": "redirects into the opened tenant's console",
    "admin.imports_errors": "a CSV download",
    "admin.tenant_export_download": "a JSON download",
    "admin.users_export": "a JSON download",
    "admin.settings_preview": "an HTMX fragment inside the settings page",
}
# The tenant views as an operator sees them: the system tenant's own console, and another
# tenant opened from it (the instance layout around the same views).
OPERATOR_SAMPLE = (
    "/admin/overview",
    "/admin/users",
    "/admin/tenants/acme-corp/overview",
    "/admin/tenants/acme-corp/users",
    "/admin/tenants/acme-corp/settings",
    "/admin/tenants/acme-corp/usage",  # with the operator's quota form
)


def world(app, acme) -> dict[str, str]:
    """One of everything a console URL can name, at Acme; values by URL parameter."""
    with app.app_context():
        tenant = db.session.merge(acme)
        ana = scope(tenant).first(User, User.email == "ana@example.com")
        org = orgs.create_org(tenant, "Blue Team")
        orgs.add_member(tenant, org, ana, roles=["owner"])
        client, _secret = clients.create_client(
            tenant, {"client_name": "Notes", "redirect_uris": ["https://notes.example/cb"]}
        )
        api = resources.create_resource(
            tenant,
            {
                "identifier": "https://api.acme.example/billing",
                "name": "Billing",
                "permissions": [{"name": "read:invoices", "description": "Read invoices"}],
            },
        )
        role = scope(tenant).first(Role, Role.name == "member")
        provider = providers.create_provider(
            tenant, {"kind": "github", "name": "GitHub", "client_id": "gh", "client_secret": "s"}
        )
        hook, _secret = webhooks.create_endpoint(
            tenant, {"url": "https://hooks.acme.example/in", "events": ["user.*"]}
        )
        connection = connections.create_connection(
            tenant,
            org,
            {
                "kind": "oidc",
                "name": "Blue IdP",
                "discovery_url": "https://idp.blue.example/.well-known/openid-configuration",
                "client_id": "blue",
                "client_secret": "secret",
            },
        )
        job = jobs.create_job(tenant, "people.jsonl", "")
        custom_domains.add_domain(tenant, "login.acme.test")
        invitations.create_invitation(tenant, "grace@example.com")
        values = {
            "user_id": ana.id,
            "org_id": org.id,
            "client_id": client.id,
            "resource_id": api.id,
            "role_id": role.id,
            "provider_id": provider.id,
            "webhook_id": hook.id,
            "connection_id": connection.id,
            "job_id": job.id,
            "template_name": "verify_email",
            "tenant_slug": tenant.slug,
        }
        db.session.commit()
    return values


def console_pages(app, values: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """(tenant view paths, instance view paths, problems) from the admin blueprint's rules."""
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]
    by_endpoint: dict[str, list] = {}
    for rule in rules:
        by_endpoint.setdefault(rule.endpoint, []).append(rule)
    tenant_paths, instance_paths, problems = [], [], []
    for endpoint, endpoint_rules in sorted(by_endpoint.items()):
        gets = [r for r in endpoint_rules if "GET" in (r.methods or ())]
        if not gets or endpoint in NOT_PAGES:
            continue
        opened = [r for r in gets if r.rule.startswith("/admin/tenants/<tenant_slug>")]
        plain = [r for r in gets if r not in opened]
        is_tenant_view = bool(opened) and bool(plain)
        for rule in plain if is_tenant_view else gets:
            missing = sorted(set(rule.arguments) - set(values))
            if missing:
                problems.append(f"{endpoint} {rule.rule}: no value for {missing}")
                continue
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<{name}>", values[name])
            for converter in ("<path:", "<int:", "<string:"):
                if converter in path:
                    problems.append(f"{endpoint} {rule.rule}: converter not handled")
            (tenant_paths if is_tenant_view else instance_paths).append(path)
    return tenant_paths, instance_paths, problems


def signed_in_context(app, browser, tenant, email: str, origin: str):
    """A browser context with a live session of ``email`` at ``tenant`` (its cookie)."""
    with app.app_context():
        tenant = db.session.merge(tenant)
        person = scope(tenant).first(User, User.email == email)
        _session, token = start_session(tenant, person, amr=["pwd"])
        name = cookie_name(tenant.id)
        db.session.commit()
    context = browser.new_context(bypass_csp=True, locale="en-US")
    context.add_cookies([{"name": name, "value": token, "url": origin + "/"}])
    return context


def check_everywhere(page, origin: str, path: str, found: dict, shoot) -> None:
    """Load ``path`` once; axe at each width in each theme."""
    response = page.goto(origin + path)
    assert response is not None and response.status == 200, (
        f"{path}: {response and response.status}"
    )
    page.wait_for_load_state("load")
    axe.inject(page)
    for width, height in axe.WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        for scheme in axe.SCHEMES:
            page.emulate_media(color_scheme=scheme)
            problems = axe.run(page)
            if problems:
                found[f"{path} {scheme} {width}px"] = problems
                shoot(f"axe-console{path.replace('/', '-')}-{scheme}-{width}.png")


@pytest.mark.skipif(not axe.AXE.exists(), reason="axe-core missing: run make install")
def test_every_console_page_has_no_serious_violations(
    app, make_tenant, make_user, live_server, browser, artifact_path
):
    started = time.monotonic()
    acme = make_tenant("acme-corp", "Acme Corp", branding={"primary_color": "#ffee00"})
    make_user(acme, "admin@acme.example", roles=("admin",))
    make_user(acme, "ana@example.com")
    with app.app_context():
        system = tenants_service.get_tenant("system")
    make_user(system, "root@gatehouse.example", roles=("admin",))
    values = world(app, acme)
    tenant_paths, instance_paths, problems = console_pages(app, values)
    assert not problems, "console pages this test cannot reach:\n" + "\n".join(problems)
    assert len(tenant_paths) > 30 and instance_paths  # the enumeration found the console

    found: dict[str, list[str]] = {}
    acme_origin = live_server.origin("acme-corp")
    context = signed_in_context(app, browser, acme, "admin@acme.example", acme_origin)
    page = context.new_page()

    def shoot(name):
        page.screenshot(path=artifact_path(name), full_page=True)

    for path in tenant_paths:
        check_everywhere(page, acme_origin, path, found, shoot)
    context.close()

    base = live_server.origin()
    context = signed_in_context(app, browser, system, "root@gatehouse.example", base)
    page = context.new_page()
    for path in instance_paths:
        check_everywhere(page, base, path, found, shoot)
    for path in OPERATOR_SAMPLE:
        check_everywhere(page, base, path, found, shoot)
    context.close()
    print(
        f"axe: {len(tenant_paths)} tenant + {len(instance_paths) + len(OPERATOR_SAMPLE)} "
        f"instance console pages x 4 in {time.monotonic() - started:.1f} s:",
        *tenant_paths,
        *instance_paths,
        *OPERATOR_SAMPLE,
    )
    assert not found, "\n".join(f"{k}: {v}" for k, v in found.items())
