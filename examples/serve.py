"""Serve the example SPA and its API on their own origin (default http://localhost:5001).

    make run                      # Gatehouse on :5000, in one terminal
    make example                  # this, in another: python -m examples.serve

On start it registers (idempotently) a public client "Gatehouse example SPA" in each
example tenant of the Gatehouse database, with this origin as redirect URI, and seeds
what the walkthrough needs: a second tenant (globex) where the demo admin has an
account too, and an organization in acme-corp. Then it serves:

- ``/`` and ``/app.js``: the SPA (examples/spa), ``/config.json``: its settings;
- ``/sdk/*.js``: the browser SDK (static/sdk);
- ``/api/...``: the API of examples/api/app.py, verifying tokens of those tenants.
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

from examples.api.app import create_api

ROOT = Path(__file__).resolve().parent.parent
SPA_DIR = ROOT / "examples" / "spa"
SDK_DIR = ROOT / "static" / "sdk"
CLIENT_NAME = "Gatehouse example SPA"
EXAMPLE_TENANTS = ("acme-corp", "globex")


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


def seed_example_data() -> list[str]:
    """A second tenant with the demo admin in it, and an org in acme-corp (idempotent);
    returns the lines to print."""
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
    return [
        f"Sign in as {email} / {password} (at acme-corp and at globex)",
        f"Organization {org.name} in acme-corp: {org.id}",
    ]


def spa_config(tenants, spa_origin: str) -> dict:
    """``{slug: {"issuer", "clientId", "name"}}`` for the SPA, from registered clients."""
    from app.tenancy import issuer_for

    config = {}
    for tenant in tenants:
        client = register_example_client(tenant, spa_origin)
        config[tenant.slug] = {
            "issuer": issuer_for(tenant),
            "clientId": client.id,
            "name": tenant.name,
            "tenantId": tenant.id,
        }
    return config


def create_example_app(tenants: dict, spa_origin: str, fetch=loopback_fetch) -> Flask:
    """The example's own web app: the SPA, the SDK files and the API, on one origin."""
    verifier = TokenVerifier(
        issuers=[entry["issuer"] for entry in tenants.values()],
        # Gatehouse access tokens name the client as their audience (DESIGN §4).
        audience=[entry["clientId"] for entry in tenants.values()],
        fetch=fetch,
    )
    web = create_api(verifier)
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
        return jsonify(tenants=tenants, redirectUri=spa_origin + "/", apiBase="/api")

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
        lines = [] if args.tenant else seed_example_data()
        config = spa_config([tenants_service.get_tenant(slug) for slug in slugs], origin)
        db.session.commit()
    for line in lines:
        print(line)
    for slug, entry in config.items():
        print(f"{slug}: issuer {entry['issuer']}  client_id {entry['clientId']}")
    print(f"Example SPA: {origin}/  (Gatehouse must be running: make run)")
    create_example_app(config, origin).run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()
