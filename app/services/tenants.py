"""Tenants: create, rename, suspend and resume, delete."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import SYSTEM_SLUG
from app.models import Tenant
from app.services import audit
from app.services import roles as roles_service
from app.services import settings as settings_service
from app.services.errors import Conflict
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.services.integrity import flush_unique
from app.services.names import clean_name
from app.tenancy import SLUG_RE

# Slugs that would shadow infrastructure host names or read as official pages.
RESERVED_SLUGS = frozenset(
    {
        SYSTEM_SLUG,
        "www",
        "api",
        "admin",
        "auth",
        "login",
        "static",
        "t",
        "mail",
        "app",
        "status",
        "new",
    }
)


def validate_slug(slug: str, field: str = "slug") -> str:
    slug = (slug or "").strip().lower()
    if not SLUG_RE.fullmatch(slug):
        raise ValidationFailed(
            {field: "use 1 to 63 lower-case letters, digits and hyphens, not at either end"}
        )
    return slug


def validate_name(name: str, field: str = "name") -> str:
    """A tenant's or organization's name (NFC, no control or bidi characters)."""
    return clean_name(
        name, field, required=True, length_message="a name of 1 to 200 characters is required"
    )


def get_tenant(ref: str) -> Tenant:
    """A tenant by id or slug; raises NotFound."""
    tenant = db.session.scalar(select(Tenant).where((Tenant.id == ref) | (Tenant.slug == ref)))
    if tenant is None:
        raise NotFound("No such tenant.")
    return tenant


def system_tenant() -> Tenant:
    return get_tenant(SYSTEM_SLUG)


def create_tenant(name: str, slug: str) -> Tenant:
    """A new active tenant with its built-in roles (keys are made on first use)."""
    errors = {}
    try:
        name = validate_name(name)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        slug = validate_slug(slug)
        if slug in RESERVED_SLUGS:
            errors["slug"] = "this slug is reserved"
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    taken = Conflict("A tenant with this slug already exists.", field="slug")
    if db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)):
        raise taken
    settings = dict(settings_service.NEW_TENANT_SETTINGS)
    quotas = _default_quotas()
    tenant = Tenant(
        name=name, slug=slug, status="active", settings=settings, domains=[], quotas=quotas
    )
    db.session.add(tenant)
    flush_unique(taken)  # a concurrent request may have taken the slug since the check
    roles_service.ensure_builtin_roles(tenant)
    audit.record(tenant, "tenant.created", target_type="tenant", target_id=tenant.id, slug=slug)
    return tenant


def _default_quotas() -> dict | None:
    """The instance's ``TENANT_QUOTA_DEFAULTS``, written into each new tenant."""
    from app.quotas.runtime import runtime_or_none

    state = runtime_or_none()
    return dict(state.defaults) if state is not None and state.defaults else None


def set_quotas(tenant: Tenant, changes: dict) -> Tenant:
    """Change some of a tenant's quotas (``None`` = unlimited); the caller has checked
    that an instance operator asks. Bumps the tenant's configuration version (a tenant
    row change), so every worker uses the new limits within about a second."""
    from app.quotas import clean_quotas

    changes = clean_quotas(changes)
    before = dict(tenant.quotas or {})
    after = {**before, **changes}
    after = {key: value for key, value in after.items() if value is not None}
    if after != before:
        tenant.quotas = after or None
        audit.record(
            tenant,
            "tenant.quotas_changed",
            target_type="tenant",
            target_id=tenant.id,
            before=before,
            after=after,
        )
    return tenant


def rename_tenant(tenant: Tenant, name: str) -> Tenant:
    old = tenant.name
    tenant.name = validate_name(name)
    if old != tenant.name:
        audit.record(
            tenant,
            "tenant.renamed",
            target_type="tenant",
            target_id=tenant.id,
            before=old,
            after=tenant.name,
        )
    return tenant


def set_status(tenant: Tenant, status: str) -> Tenant:
    """Suspend (``suspended``) or resume (``active``) a tenant; the system tenant stays up."""
    if status not in {"active", "suspended"}:
        raise ValidationFailed({"status": "must be 'active' or 'suspended'"})
    if tenant.is_system and status != "active":
        raise ValidationFailed({"status": "the system tenant cannot be suspended"})
    if tenant.status != status:
        tenant.status = status
        action = "tenant.suspended" if status == "suspended" else "tenant.resumed"
        audit.record(tenant, action, target_type="tenant", target_id=tenant.id)
    return tenant


def delete_tenant(tenant: Tenant, confirm: str) -> None:
    """Delete a tenant and everything it owns; ``confirm`` must repeat its slug."""
    if tenant.is_system:
        raise ValidationFailed({"tenant": "the system tenant cannot be deleted"})
    if confirm != tenant.slug:
        raise ValidationFailed({"confirm": "type the tenant's slug to confirm deletion"})
    # The tenant's own trail goes with it: the instance's (system tenant's) keeps the record.
    audit.record(
        system_tenant(),
        "tenant.deleted",
        target_type="tenant",
        target_id=tenant.id,
        slug=tenant.slug,
    )
    db.session.delete(tenant)
    db.session.flush()


def list_tenants(query: str = "", *, after: str | None = None, limit: int = 50) -> list[Tenant]:
    """Tenants ordered by id (creation order), filtered by name or slug, after a cursor."""
    stmt = select(Tenant).order_by(Tenant.id).limit(limit)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(Tenant.slug.ilike(like) | Tenant.name.ilike(like))
    if after:
        stmt = stmt.where(Tenant.id > after)
    return list(db.session.scalars(stmt))
