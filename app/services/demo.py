"""`gatehouse demo`: a demo tenant to sign in to on a fresh `make run` (idempotent)."""

from __future__ import annotations

from app.extensions import db
from app.models import Tenant
from app.models import User
from app.security.passwords import hash_password
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


def _ensure_user(tenant: Tenant, email: str, name: str, password: str, roles: list[str]) -> User:
    user = scope(tenant).first(User, User.email == email)
    if user is None:
        return users_service.create_user(
            tenant, email, name=name, password=password, roles=roles, email_verified=True
        )
    user.password_hash = hash_password(password)
    user.status = "active"
    users_service.set_tenant_roles(tenant, user, roles, audited=False)
    return user


def seed_demo() -> list[str]:
    """Create or refresh the demo data; returns the lines to print."""
    tenant = _ensure_tenant()
    lines = [
        f"Tenant {tenant.name} ({tenant.slug}, {tenant.id})",
        f"  issuer: {issuer_for(tenant)}",
    ]
    for email, name, password, roles in DEMO_USERS:
        user = _ensure_user(tenant, email, name, password, roles)
        lines.append(f"  user {user.email} / {password}  roles={','.join(roles)}")
    system = tenants_service.system_tenant()
    email, name, password, roles = OPERATOR
    _ensure_user(system, email, name, password, roles)
    lines.append(f"Instance operator (system tenant, {issuer_for(system)}/admin)")
    lines.append(f"  user {email} / {password}")
    db.session.flush()
    return lines
