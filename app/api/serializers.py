"""Resources as JSON objects: DESIGN §3 field names plus ``id`` and timestamps."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from app.models import AdminApiKey
from app.models import AuditEvent
from app.models import BrowserSession
from app.models import ImportJob
from app.models import Invitation
from app.models import Organization
from app.models import Resource
from app.models import Role
from app.models import Tenant
from app.models import User
from app.quotas import effective as quota_fields
from app.services import invitations as invitations_service
from app.services import permissions as permissions_service
from app.services import roles as roles_service
from app.tenancy import issuer_for


def timestamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def tenant_to_dict(tenant: Tenant) -> dict:
    return {
        "id": tenant.id,
        "slug": tenant.slug,
        "name": tenant.name,
        "status": tenant.status,
        "issuer": issuer_for(tenant),
        "quotas": quota_fields(tenant.quotas),
        "created_at": timestamp(tenant.created_at),
    }


def user_to_dict(tenant: Tenant, user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "email_verified": user.email_verified,
        "status": user.status,
        "roles": roles_service.tenant_role_names(tenant, user),
        "has_password": user.password_hash is not None,
        "external_id": user.external_id,
        "metadata": user.user_metadata or {},
        "last_login_at": timestamp(user.last_login_at),
        "created_at": timestamp(user.created_at),
    }


def role_to_dict(role: Role, permissions: list[dict] | None = None) -> dict:
    """``permissions``: the role's, when the caller read them already (else read here)."""
    if permissions is None:
        permissions = permissions_service.permissions_of_roles(role.tenant_id, [role])[role.id]
    return {
        "id": role.id,
        "kind": role.kind,
        "name": role.name,
        "description": role.description,
        "builtin": role.builtin,
        "permissions": permissions,
        "created_at": timestamp(role.created_at),
    }


def resource_to_dict(resource: Resource) -> dict:
    return {
        "id": resource.id,
        "identifier": resource.identifier,
        "name": resource.name,
        "permissions": [dict(p) for p in resource.permissions or []],
        "access_token_ttl_seconds": resource.access_token_ttl_seconds,
        "created_at": timestamp(resource.created_at),
    }


def org_to_dict(org: Organization) -> dict:
    return {
        "id": org.id,
        "name": org.name,
        "slug": org.slug,
        "domains": list(org.domains or []),
        "created_at": timestamp(org.created_at),
    }


def member_to_dict(entry: dict) -> dict:
    """One row of ``orgs.list_members``: ``{user, roles, membership}``."""
    user, membership = entry["user"], entry["membership"]
    return {
        "id": membership.id,
        "user_id": user.id,
        "email": user.email,
        "name": user.name,
        "roles": sorted(entry["roles"]),
        "created_at": timestamp(membership.created_at),
    }


def invitation_to_dict(invitation: Invitation) -> dict:
    return {
        "id": invitation.id,
        "email": invitation.email,
        "org_id": invitation.org_id,
        "roles": list(invitation.roles or []),
        "org_roles": list(getattr(invitation, "org_roles", None) or []),
        "status": invitations_service.status_of(invitation),
        "invited_by": invitation.invited_by,
        "expires_at": timestamp(invitation.expires_at),
        "accepted_at": timestamp(invitation.accepted_at),
        "created_at": timestamp(invitation.created_at),
    }


def session_to_dict(session: BrowserSession) -> dict:
    return {
        "id": session.id,
        "user_id": session.user_id,
        "amr": list(session.amr or []),
        "active_org_id": session.active_org_id,
        "ip": session.ip,
        "user_agent": session.user_agent,
        "auth_time": timestamp(session.auth_time),
        "last_seen_at": timestamp(session.last_seen_at),
        "expires_at": timestamp(session.expires_at),
        "created_at": timestamp(session.created_at),
    }


def audit_event_to_dict(event: AuditEvent) -> dict:
    return {
        "id": event.id,
        "action": event.action,
        "actor": {"type": event.actor_type, "id": event.actor_id},
        "target": {"type": event.target_type, "id": event.target_id},
        "ip": event.ip,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "data": event.data or {},
        "created_at": timestamp(event.created_at),
    }


def admin_key_to_dict(key: AdminApiKey) -> dict:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "tenant_id": key.tenant_id,
        "scope": "instance" if key.is_instance_key else "tenant",
        "created_by": key.created_by,
        "last_used_at": timestamp(key.last_used_at),
        "revoked_at": timestamp(key.revoked_at),
        "created_at": timestamp(key.created_at),
    }


def import_job_to_dict(job: ImportJob) -> dict:
    return {
        "id": job.id,
        "status": job.status,
        "filename": job.filename,
        "processed": job.processed,
        "created": job.created,
        "updated": job.updated,
        "error_count": job.error_count,
        "errors": list(job.errors or []),
        "failure": job.failure,
        "started_at": timestamp(job.started_at),
        "finished_at": timestamp(job.finished_at),
        "created_at": timestamp(job.created_at),
    }
