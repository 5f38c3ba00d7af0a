"""Users of a tenant: creation, lookup, roles."""

from __future__ import annotations

from email_validator import EmailNotValidError
from email_validator import validate_email
from sqlalchemy import delete

from app.extensions import db
from app.models import Tenant
from app.models import User
from app.models import UserRole
from app.security.passwords import hash_password
from app.services import audit
from app.services import roles as roles_service
from app.services.errors import Conflict
from app.services.errors import ValidationFailed
from app.services.password_policy import password_problems
from app.tenancy import scope


def normalize_email(raw: str) -> str:
    """Syntax-check an address and return its normalised form; raises ValidationFailed."""
    try:
        result = validate_email((raw or "").strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed({"email": str(exc)}) from exc
    return result.normalized.lower()


def find_by_email(tenant: Tenant, email: str) -> User | None:
    try:
        normalized = normalize_email(email)
    except ValidationFailed:
        return None
    return scope(tenant).first(User, User.email == normalized)


def create_user(
    tenant: Tenant,
    email: str,
    *,
    name: str = "",
    password: str | None = None,
    roles: list[str] | None = None,
    email_verified: bool = False,
    audit_action: str = "user.created",
) -> User:
    """Create a user in ``tenant``; the password must satisfy the tenant's policy."""
    email = normalize_email(email)
    if len(name) > 200:
        raise ValidationFailed({"name": "at most 200 characters"})
    if password is not None:
        problems = password_problems(tenant, password, email)
        if problems:
            raise ValidationFailed({"password": " ".join(problems)})
    if scope(tenant).first(User, User.email == email):
        raise Conflict("A user with this email already exists.", field="email")
    user = scope(tenant).add(
        User(
            email=email,
            name=name.strip(),
            password_hash=hash_password(password) if password else None,
            email_verified=email_verified,
        )
    )
    db.session.flush()
    set_tenant_roles(tenant, user, roles if roles is not None else ["member"], audited=False)
    audit.record(tenant, audit_action, target_type="user", target_id=user.id, email=email)
    return user


def set_tenant_roles(tenant: Tenant, user: User, names: list[str], *, audited: bool = True) -> None:
    """Replace the user's tenant roles; unknown role names are refused."""
    roles_service.ensure_builtin_roles(tenant)
    wanted = sorted(set(names))
    found = roles_service.find_roles(tenant, "tenant", wanted)
    missing = [n for n in wanted if n not in found]
    if missing:
        raise ValidationFailed({"roles": f"unknown role: {', '.join(missing)}"})
    before = roles_service.tenant_role_names(tenant, user)
    db.session.execute(
        delete(UserRole).where(UserRole.tenant_id == tenant.id, UserRole.user_id == user.id)
    )
    for role in found.values():
        scope(tenant).add(UserRole(user_id=user.id, role_id=role.id))
    db.session.flush()
    if audited and before != wanted:
        audit.record(
            tenant,
            "user.roles_changed",
            target_type="user",
            target_id=user.id,
            before=before,
            after=wanted,
        )
