"""Email domains an organization owns, proved by a DNS TXT record or set by an operator.

A domain is verified for one organization of a tenant at a time (unique per tenant).
Only verified domains route sign-ins to an organization's connection (home-realm
discovery) or may be named in a connection's ``domains``.
"""

from __future__ import annotations

from app.extensions import db
from app.models import Organization
from app.models import OrgDomain
from app.models import Tenant
from app.security.tokens import new_token
from app.services import audit
from app.services import domain_verification as dnsv
from app.services.errors import Conflict
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.services.settings import validate_changes
from app.tenancy import scope


def clean_domain(value) -> str:
    """A lower-case domain name (same rule as ``allowed_email_domains``)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed({"domain": "is required"})
    try:
        cleaned = validate_changes({"allowed_email_domains": [value]})["allowed_email_domains"]
    except ValidationFailed as exc:
        raise ValidationFailed({"domain": next(iter(exc.errors.values()))}) from exc
    return cleaned[0]


def record_of(row: OrgDomain) -> dnsv.TxtRecord:
    return dnsv.record_for(row.domain, row.verification_token)


def add_domain(tenant: Tenant, org: Organization, domain) -> OrgDomain:
    """Claim ``domain`` for ``org`` (pending until verified); Conflict when already claimed."""
    domain = clean_domain(domain)
    if scope(tenant).first(OrgDomain, OrgDomain.domain == domain):
        raise Conflict("This domain is already claimed by an organization.", field="domain")
    row = scope(tenant).add(
        OrgDomain(org_id=org.id, domain=domain, verification_token=new_token(24))
    )
    db.session.flush()
    audit.record(tenant, "org.domain_added", target_type="org", target_id=org.id, domain=domain)
    return row


def verify_domain(tenant: Tenant, row: OrgDomain, *, operator: bool = False) -> OrgDomain:
    """Check the TXT record now (or accept an instance operator's word); raises
    VerificationFailed when the record is missing or DNS cannot answer."""
    if row.verified_at is not None:
        return row
    dnsv.mark_verified(row, record_of(row), operator=operator)
    audit.record(
        tenant,
        "org.domain_verified",
        target_type="org",
        target_id=row.org_id,
        domain=row.domain,
        by=row.verified_by,
    )
    return row


def get_domain(tenant: Tenant, org: Organization, domain_id: str) -> OrgDomain:
    row = scope(tenant).first(OrgDomain, OrgDomain.id == domain_id, OrgDomain.org_id == org.id)
    if row is None:
        raise NotFound("No such domain in this organization.")
    return row


def list_domains(tenant: Tenant, org: Organization) -> list[OrgDomain]:
    return scope(tenant).all(OrgDomain, OrgDomain.org_id == org.id, order_by=OrgDomain.id)


def delete_domain(tenant: Tenant, row: OrgDomain) -> None:
    audit.record(
        tenant, "org.domain_removed", target_type="org", target_id=row.org_id, domain=row.domain
    )
    db.session.delete(row)
    db.session.flush()


def verified_domains(tenant: Tenant, org_id: str) -> set[str]:
    rows = scope(tenant).all(
        OrgDomain, OrgDomain.org_id == org_id, OrgDomain.verified_at.is_not(None)
    )
    return {row.domain for row in rows}


def verified_owner(tenant: Tenant, domain: str) -> str | None:
    """The id of the organization that verified ``domain``, or None."""
    row = scope(tenant).first(
        OrgDomain, OrgDomain.domain == domain.lower(), OrgDomain.verified_at.is_not(None)
    )
    return row.org_id if row else None


def domain_to_dict(row: OrgDomain) -> dict:
    return {
        "id": row.id,
        "org_id": row.org_id,
        "domain": row.domain,
        "status": "verified" if row.verified_at else "pending",
        "verification": record_of(row).as_dict(),
        "verified_at": row.verified_at.isoformat() if row.verified_at else None,
        "verified_by": row.verified_by,
        "created_at": row.created_at.isoformat(),
    }
