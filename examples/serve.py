"""Serve the example SPA and its API on their own origin (default http://localhost:5001).

    make run                      # Gatehouse on :5000, in one terminal
    make example                  # this, in another: python -m examples.serve

On start it registers (idempotently) a public client "Gatehouse example SPA" in each
example tenant of the Gatehouse database, with this origin as redirect URI, and seeds
what the walkthrough needs: a second tenant (globex) where the demo admin has an
account too, an organization in acme-corp, and in both demo tenants the two example APIs
(below) with their permissions given to the ``member`` role. Then it serves:

- ``/`` and ``/app.js``: the SPA (examples/spa), ``/config.json``: its settings;
- ``/sdk/*.js``: the browser SDK (static/sdk);
- ``/api/...``: the notes API (examples/api/app.py), an API resource whose identifier is
  ``<origin>/api`` (permissions ``read:notes``, ``write:notes``);
- ``/billing/...``: the billing API (examples/api/billing.py), identifier
  ``<origin>/billing`` (permission ``read:invoices``).

Each API accepts only tokens for its own identifier (``aud``). The SPA asks for both at
sign-in (``resource=``, RFC 8707) where the tenant defines them, and holds one token per
API (``getAccessToken({ resource })``). With ``--tenant SLUG`` nothing is seeded: define
the APIs in that tenant's console (APIs → New API) with the identifiers printed on start.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from flask import jsonify
from flask import send_from_directory
from gatehouse_sdk import TokenVerifier
from gatehouse_sdk import loopback_fetch
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from examples.api import app as notes_api
from examples.api import billing as billing_api
from examples.api.app import create_api
from examples.api.billing import create_billing_api

ROOT = Path(__file__).resolve().parent.parent
SPA_DIR = ROOT / "examples" / "spa"
SDK_DIR = ROOT / "static" / "sdk"
CLIENT_NAME = "Gatehouse example SPA"
EXAMPLE_TENANTS = ("acme-corp", "globex")
API_PATHS = {"notes": "/api", "billing": "/billing"}
API_NAMES = {"notes": "Example notes API", "billing": "Example billing API"}
API_PERMISSIONS = {"notes": notes_api.PERMISSIONS, "billing": billing_api.PERMISSIONS}


def api_identifiers(spa_origin: str) -> dict[str, str]:
    """``{"notes": "<origin>/api", "billing": "<origin>/billing"}``: each API's identifier."""
    return {key: spa_origin + path for key, path in API_PATHS.items()}


def register_example_apis(tenant, spa_origin: str, *, grant_to: str | None = "member") -> None:
    """Define both example APIs in ``tenant`` (if missing) and give all their permissions to
    the ``grant_to`` tenant role (idempotent)."""
    from app.services import permissions
    from app.services import resources
    from app.services import roles

    held = []
    for key, identifier in api_identifiers(spa_origin).items():
        if resources.find_by_identifier(tenant, identifier) is None:
            resources.create_resource(
                tenant,
                {
                    "identifier": identifier,
                    "name": API_NAMES[key],
                    "permissions": [
                        {"name": n, "description": d} for n, d in API_PERMISSIONS[key].items()
                    ],
                },
            )
        held += [{"resource": identifier, "permission": n} for n in API_PERMISSIONS[key]]
    if grant_to:
        role = roles.get_role(tenant, grant_to, "tenant")
        current = permissions.permissions_of_roles(tenant, [role])[role.id]
        permissions.set_role_permissions(
            tenant, role, current + [p for p in held if p not in current]
        )


def defined_apis(tenant, spa_origin: str) -> list[str]:
    """The example APIs' identifiers that ``tenant`` defines (the SPA asks for those)."""
    from app.services import resources

    return [
        identifier
        for identifier in api_identifiers(spa_origin).values()
        if resources.find_by_identifier(tenant, identifier) is not None
    ]


def register_example_client(tenant, spa_origin: str):
    """The tenant's example SPA client (created or updated); a public PKCE client."""
    from app.models import Client
    from app.services import clients
    from app.tenancy import scope

    data = {
        "client_name": CLIENT_NAME,
        "redirect_uris": [spa_origin + "/"],
        "post_logout_redirect_uris": [spa_origin + "/"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        "scope": "openid profile email offline_access",
        "first_party": True,
    }
    existing = scope(tenant).first(Client, Client.client_name == CLIENT_NAME)
    if existing is not None:
        return clients.update_client(tenant, existing, data)
    client, _ = clients.create_client(tenant, data)
    return client


def seed_example_data(spa_origin: str) -> list[str]:
    """A second tenant with the demo admin in it, an org in acme-corp, and the example
    APIs in both (idempotent); returns the lines to print."""
    from app.models import Organization
    from app.services import demo
    from app.services import orgs
    from app.services import tenants
    from app.services.errors import NotFound
    from app.services.users import create_user
    from app.services.users import find_by_email
    from app.tenancy import scope

    demo.seed_demo()
    acme = tenants.get_tenant("acme-corp")
    email, name, password, roles = demo.DEMO_USERS[0]
    admin = find_by_email(acme, email)
    org = scope(acme).first(Organization, Organization.slug == "research")
    if org is None:
        org = orgs.create_org(acme, "Research", "research")
    if admin is not None and not any(o.id == org.id for o, _ in orgs.orgs_of(acme, admin)):
        orgs.add_member(acme, org, admin, roles=("admin",))
    try:
        globex = tenants.get_tenant("globex")
    except NotFound:
        globex = tenants.create_tenant("Globex", "globex")
    if find_by_email(globex, email) is None:
        create_user(globex, email, name=name, password=password, roles=roles, email_verified=True)
    for tenant in (acme, globex):
        register_example_apis(tenant, spa_origin)
    return [
        f"Sign in as {email} / {password} (at acme-corp and at globex)",
        f"Organization {org.name} in acme-corp: {org.id}",
    ]


def spa_config(tenants, spa_origin: str) -> dict:
    """``{slug: {"issuer", "clientId", "name", "tenantId", "resources"}}`` for the SPA,
    from registered clients and the example APIs each tenant defines."""
    from app.tenancy import issuer_for

    config = {}
    for tenant in tenants:
        client = register_example_client(tenant, spa_origin)
        config[tenant.slug] = {
            "issuer": issuer_for(tenant),
            "clientId": client.id,
            "name": tenant.name,
            "tenantId": tenant.id,
            "resources": defined_apis(tenant, spa_origin),
        }
    return config


def create_example_app(
    tenants: dict, spa_origin: str, fetch=loopback_fetch, resources_of=None
) -> Flask:
    """The example's own web app: the SPA, the SDK files and both APIs, on one origin.

    ``resources_of(slug)``: the API identifiers a tenant defines now (asked on every load
    of ``/config.json``, so an API defined in the console after start is picked up);
    without it, each tenant entry's ``resources``.
    """
    identifiers = api_identifiers(spa_origin)
    issuers = [entry["issuer"] for entry in tenants.values()]

    def verifier(key):
        # Each API accepts tokens for its own identifier only (aud, RFC 8707).
        return TokenVerifier(issuers=issuers, audience=identifiers[key], fetch=fetch)

    web = create_api(verifier("notes"))
    web.wsgi_app = DispatcherMiddleware(
        web.wsgi_app, {API_PATHS["billing"]: create_billing_api(verifier("billing"))}
    )
    issuer_origins = sorted(
        {"{0.scheme}://{0.netloc}".format(urlsplit(e["issuer"])) for e in tenants.values()}
    )
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {' '.join(issuer_origins)}; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )

    @web.get("/")
    def index():
        return send_from_directory(SPA_DIR, "index.html", max_age=0)

    @web.get("/<any('app.js', 'app.css'):name>")
    def spa_file(name):
        return send_from_directory(SPA_DIR, name, max_age=0)

    @web.get("/sdk/<any('gatehouse.js', 'gatehouse-react.js'):name>")
    def sdk_file(name):
        return send_from_directory(SDK_DIR, name, max_age=0)

    @web.get("/config.json")
    def config():
        current = {
            slug: {**entry, "resources": resources_of(slug) if resources_of else entry["resources"]}
            for slug, entry in tenants.items()
        }
        apis = {key: {"identifier": identifiers[key], "base": API_PATHS[key]} for key in API_PATHS}
        return jsonify(tenants=current, redirectUri=spa_origin + "/", apiBase="/api", apis=apis)

    @web.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return web


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--origin", help="the SPA's origin (default http://localhost:PORT)")
    parser.add_argument("--tenant", action="append", help="tenant slug (repeatable)")
    args = parser.parse_args(argv)
    origin = (args.origin or f"http://localhost:{args.port}").rstrip("/")

    from app import create_app
    from app.extensions import db
    from app.services import tenants as tenants_service

    gatehouse = create_app()
    with gatehouse.app_context():
        slugs = args.tenant or list(EXAMPLE_TENANTS)
        lines = [] if args.tenant else seed_example_data(origin)
        config = spa_config([tenants_service.get_tenant(slug) for slug in slugs], origin)
        db.session.commit()
    for line in lines:
        print(line)
    for slug, entry in config.items():
        print(f"{slug}: issuer {entry['issuer']}  client_id {entry['clientId']}")
    for key, identifier in api_identifiers(origin).items():
        names = " ".join(API_PERMISSIONS[key])
        print(f"{API_NAMES[key]}: identifier {identifier}  permissions {names}")
    print(f"Example SPA: {origin}/  (Gatehouse must be running: make run)")

    def resources_of(slug):
        with gatehouse.app_context():
            try:
                return defined_apis(tenants_service.get_tenant(slug), origin)
            finally:
                db.session.remove()

    create_example_app(config, origin, resources_of=resources_of).run(
        host=args.host, port=args.port
    )


if __name__ == "__main__":
    main()
