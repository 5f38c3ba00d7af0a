"""`gatehouse demo`: a demo tenant to sign in to on a fresh `make run`.

Running it again changes nothing that exists (DESIGN §6): a user whose password was
changed keeps it, and the demo client keeps its secret, so an app configured with it
goes on working. Only what is missing is created; a secret is printed only then.
"""

from __future__ import annotations

from app.extensions import db
from app.models import Tenant
from app.models import User
from app.services import orgs as orgs_service
from app.services import roles as roles_service
from app.services import tenants as tenants_service
from app.services import users as users_service
from app.services.errors import NotFound
from app.tenancy import issuer_for
from app.tenancy import scope

DEMO_SLUG = "acme-corp"
# Fixed so the README can name them; they exist only in the demo data.
DEMO_USERS = [
    ("admin@acme.example.com", "Ada Admin", "correct-horse-acme-1", ["admin", "member"]),
    ("member@acme.example.com", "Max Member", "battery-staple-acme-2", ["member"]),
]
DEMO_ORG = ("Acme Engineering", "engineering")
OPERATOR = (
    "operator@gatehouse.example.com",
    "Olivia Operator",
    "gatehouse-ops-staple-3",
    ["admin"],
)


def _ensure_tenant() -> Tenant:
    try:
        return tenants_service.get_tenant(DEMO_SLUG)
    except NotFound:
        return tenants_service.create_tenant("Acme Corp", DEMO_SLUG)


def _ensure_user(
    tenant: Tenant, email: str, name: str, password: str, roles: list[str]
) -> tuple[User, bool]:
    """The demo user, created when missing; ``(user, created)``. An existing one is left as is."""
    user = scope(tenant).first(User, User.email == email)
    if user is not None:
        return user, False
    user = users_service.create_user(
        tenant, email, name=name, password=password, roles=roles, email_verified=True
    )
    return user, True


def _user_line(user: User, password: str, created: bool, roles: list[str]) -> str:
    if created:
        return f"  user {user.email} / {password}  roles={','.join(roles)}  (created)"
    return f"  user {user.email}  (exists, left unchanged; created with password {password})"


def _ensure_org(tenant: Tenant, demo_users: list[User]):
    """The demo organization, with the admin as owner and the member as member."""
    try:
        org = orgs_service.get_org(tenant, DEMO_ORG[1])
    except NotFound:
        org = orgs_service.create_org(tenant, DEMO_ORG[0], slug=DEMO_ORG[1])
    for user, roles in zip(demo_users, (["owner"], ["member"]), strict=True):
        if roles_service.org_role_names(tenant, user, org.id) is None:
            orgs_service.add_member(tenant, org, user, roles=roles)
    return org


def seed_demo() -> list[str]:
    """Create whatever demo data is missing; returns the lines to print."""
    tenant = _ensure_tenant()
    lines = [
        f"Tenant {tenant.name} ({tenant.slug}, {tenant.id})",
        f"  issuer: {issuer_for(tenant)}",
        f"  console: {issuer_for(tenant)}/admin (sign in as the admin below)",
    ]
    demo_users = []
    for email, name, password, roles in DEMO_USERS:
        user, created = _ensure_user(tenant, email, name, password, roles)
        demo_users.append(user)
        lines.append(_user_line(user, password, created, roles))
    org = _ensure_org(tenant, demo_users)
    lines.append(
        f"  organization {org.name} ({org.slug}, {org.id}): admin is owner, member is member"
    )
    lines.extend(_ensure_demo_clients(tenant))
    system = tenants_service.system_tenant()
    email, name, password, roles = OPERATOR
    operator, created = _ensure_user(system, email, name, password, roles)
    lines.append(f"Instance operator (system tenant, console {issuer_for(system)}/admin)")
    lines.append(_user_line(operator, password, created, roles))
    db.session.flush()
    return lines


DEMO_CLIENTS = [
    {
        "client_name": "Acme Demo App",
        "redirect_uris": ["http://localhost:8000/callback"],
        "post_logout_redirect_uris": ["http://localhost:8000/"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "openid profile email offline_access",
    },
    {
        "client_name": "Acme Demo SPA",
        "redirect_uris": ["http://localhost:3000/callback"],
        "post_logout_redirect_uris": ["http://localhost:3000/"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        "scope": "openid profile email offline_access",
    },
]


def _ensure_demo_clients(tenant: Tenant) -> list[str]:
    """The demo OAuth clients, found by name and created when missing. A confidential
    client's secret is printed once, when it is created; it is never rotated here."""
    from app.models import Client
    from app.services import clients as clients_service

    lines = []
    for data in DEMO_CLIENTS:
        client = scope(tenant).first(Client, Client.client_name == data["client_name"])
        secret = None
        created = client is None
        if created:
            client, secret = clients_service.create_client(tenant, data)
        kind = "public, PKCE" if client.is_public else "confidential"
        state = "created" if created else "exists, left unchanged"
        lines.append(f"  client {client.client_name} ({kind}, {state}): client_id={client.id}")
        lines.append(f"    redirect_uri={client.redirect_uris[0]}")
        if secret:
            lines.append(f"    client_secret={secret}  (shown only now: copy it, it is not stored)")
        elif not client.is_public:
            lines.append(
                "    client_secret: shown once when it was created; to replace it, "
                "rotate it in the console (Clients) or through the admin API"
            )
    return lines
