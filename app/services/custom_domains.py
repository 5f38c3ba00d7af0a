"""A tenant's custom domains (DESIGN §2, §3 ``domain``): registered pending, verified by
a DNS TXT record (``_gatehouse.<host>``), and only then routing requests and becoming the
tenant's canonical origin and issuer.

Every change writes a ``custom_domains`` row, which bumps the tenant's config version in
the same transaction (app/tenant_cache.py): every worker drops the tenant's snapshot, so
a new issuer (or the return to the subdomain one after a removal) is seen within a second.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import CustomDomain
from app.models import Tenant
from app.services import audit
from app.services import domain_verification as dnsv
from app.services.errors import Conflict
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.services.integrity import flush_unique
from app.services.settings import validate_changes
from app.tenancy import scope

PREFIX = "_gatehouse"
MAX_DOMAINS = 20
TAKEN = "This host name is already registered."


def clean_host(value) -> str:
    """A lower-case DNS host name that is not the instance's own (field ``host``)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed({"host": "is required"})
    host = value.strip().lower().rstrip(".")
    try:
        host = validate_changes({"allowed_email_domains": [host]})["allowed_email_domains"][0]
    except ValidationFailed as exc:
        raise ValidationFailed({"host": "not a host name (e.g. login.example.com)"}) from exc
    base = current_app.config["BASE_DOMAIN"].split(":", 1)[0].lower()
    if host == base or host.endswith("." + base):
        raise ValidationFailed({"host": f"must not be {base} or one of its subdomains"})
    return host


def record_of(row: CustomDomain) -> dnsv.TxtRecord:
    return dnsv.record_for(row.host, row.verification_token, prefix=PREFIX)


def list_domains(tenant: Tenant) -> list[CustomDomain]:
    return scope(tenant).all(CustomDomain, order_by=CustomDomain.id)


def get_domain(tenant: Tenant, domain_id: str) -> CustomDomain:
    row = scope(tenant).get(CustomDomain, domain_id)
    if row is None:
        raise NotFound("No such domain.")
    return row


def get_domain_by_host(tenant: Tenant, host: str) -> CustomDomain:
    row = scope(tenant).first(CustomDomain, CustomDomain.host == (host or "").strip().lower())
    if row is None:
        raise NotFound("No such domain.")
    return row


def add_domain(tenant: Tenant, host) -> CustomDomain:
    """Register ``host`` for the tenant, pending until its TXT record is verified.
    Conflict when any tenant has it already (without saying which)."""
    host = clean_host(host)
    if db.session.scalar(select(CustomDomain.id).where(CustomDomain.host == host)):
        raise Conflict(TAKEN, field="host")
    if scope(tenant).count(CustomDomain) >= MAX_DOMAINS:
        raise ValidationFailed({"host": f"a tenant may register at most {MAX_DOMAINS} domains"})
    row = scope(tenant).add(CustomDomain(host=host))
    flush_unique(Conflict(TAKEN, field="host"))
    audit.record(tenant, "domain.added", target_type="domain", target_id=row.id, host=host)
    return row


def verify_domain(tenant: Tenant, row: CustomDomain, *, operator: bool = False) -> CustomDomain:
    """Check the TXT record now (or take an instance operator's word); raises
    VerificationFailed when it is missing or DNS cannot answer."""
    if row.is_verified:
        return row
    dnsv.mark_verified(row, record_of(row), operator=operator)
    audit.record(
        tenant,
        "domain.verified",
        target_type="domain",
        target_id=row.id,
        host=row.host,
        by=row.verified_by,
    )
    return row


def delete_domain(tenant: Tenant, row: CustomDomain) -> None:
    """Remove a domain: if it was the issuer, the tenant's next verified domain (or its
    subdomain / path origin) is the issuer from the next request on."""
    audit.record(tenant, "domain.removed", target_type="domain", target_id=row.id, host=row.host)
    db.session.delete(row)
    db.session.flush()


def is_verified_host(host: str) -> bool:
    """True when some tenant has verified ``host`` (the on-demand TLS ``ask``)."""
    host = (host or "").strip().lower().rstrip(".")
    if not host or len(host) > 253:
        return False
    return (
        db.session.scalar(
            select(CustomDomain.id)
            .where(CustomDomain.host == host, CustomDomain.verified_at.is_not(None))
            .limit(1)
        )
        is not None
    )


def domain_to_dict(row: CustomDomain) -> dict:
    return {
        "id": row.id,
        "host": row.host,
        "status": "verified" if row.is_verified else "pending",
        "verification": record_of(row).as_dict(),
        "verified_at": row.verified_at.isoformat() if row.verified_at else None,
        "verified_by": row.verified_by,
        "created_at": row.created_at.isoformat(),
    }
