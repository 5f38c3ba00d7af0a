"""Mail the worker itself sends: a tenant's admins hear that an endpoint was disabled."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OutboxMessage
from app.models import Role
from app.models import Tenant
from app.models import User
from app.models import UserRole


def tenant_admin_emails(session: Session, tenant_id: str) -> list[str]:
    stmt = (
        select(User.email)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(
            User.tenant_id == tenant_id,
            Role.tenant_id == tenant_id,
            Role.kind == "tenant",
            Role.name == "admin",
            User.status == "active",
        )
        .order_by(User.email)
    )
    return list(session.scalars(stmt))


def endpoint_disabled(session: Session, endpoint) -> None:
    tenant = session.get(Tenant, endpoint.tenant_id)
    name = tenant.name if tenant else endpoint.tenant_id
    text = (
        f"The webhook endpoint {endpoint.url} of {name} kept failing, so Gatehouse "
        "disabled it and stopped sending events to it.\n\n"
        "Its delivery log in the admin console (Webhooks) shows the answers it gave. "
        "Fix the receiver, enable the endpoint again and redeliver what it missed.\n"
    )
    for email in tenant_admin_emails(session, endpoint.tenant_id):
        session.add(
            OutboxMessage(
                tenant_id=endpoint.tenant_id,
                sender=current_app.config["MAIL_FROM"],
                to=email,
                subject=f"A webhook endpoint of {name} was disabled",
                body_text=text,
                status="pending",
            )
        )
