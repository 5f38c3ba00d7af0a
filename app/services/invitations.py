"""Invitations to a tenant, optionally to an organization with roles.

An invitation carries tenant roles (``roles``, default ``member``) and, when it names an
organization, roles there (``org_roles``, default ``member``). Its link holds a random
token stored only as a digest; it works once, until it expires or is revoked, and only
at the inviting tenant. Accepting as a new person creates the account in the inviting
tenant whatever its ``signup_mode`` (the invitation is the permission); the same email
elsewhere stays a separate account of that other tenant.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import update

from app.extensions import db
from app.i18n import N_
from app.models import Invitation
from app.models import Organization
from app.models import Tenant
from app.models import User
from app.models.base import utcnow
from app.security.tokens import digest
from app.security.tokens import new_token
from app.services import audit
from app.services import orgs as orgs_service
from app.services import roles as roles_service
from app.services import users as users_service
from app.services.errors import Conflict
from app.services.errors import NotFound
from app.services.errors import PermissionDenied
from app.services.errors import ServiceError
from app.services.errors import ValidationFailed
from app.services.names import clean_name
from app.services.password_policy import password_problems
from app.services.users import normalize_email
from app.tenancy import external_url
from app.tenancy import scope

INVITATION_TTL = timedelta(days=7)
STATUSES = ("pending", "accepted", "revoked", "expired")


class InvitationUnusable(ServiceError):
    """The link was used, revoked or has expired (``reason`` says which)."""

    status = 410
    title = N_("Invitation no longer valid")  # translated where it is shown

    def __init__(self, reason: str):
        messages = {
            "accepted": _("This invitation has already been used."),
            "revoked": _("This invitation was withdrawn."),
            "expired": _("This invitation has expired. Ask for a new one."),
        }
        super().__init__(messages[reason])
        self.reason = reason


def status_of(invitation: Invitation, now=None) -> str:
    """``pending``, ``accepted``, ``revoked`` or ``expired``."""
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if (now or utcnow()) >= invitation.expires_at:
        return "expired"
    return "pending"


def invitation_link(tenant: Tenant, token: str) -> str:
    """The acceptance link, from the tenant's configured origin (never the Host header)."""
    return external_url(tenant, f"/invitations/{token}")


def create_invitation(
    tenant: Tenant,
    email: str,
    *,
    roles: list[str] | None = None,
    org_id: str | None = None,
    org_roles: list[str] | None = None,
    invited_by: str | None = None,
) -> tuple[Invitation, str]:
    """Store a single-use, expiring invitation and email its link; returns (row, token).

    ``roles`` are tenant roles (default ``member``); ``org_roles`` are roles in ``org_id``
    (default ``member``). Unknown roles and organizations of other tenants are refused.
    """
    email = normalize_email(email)
    tenant_roles = roles_service.require_roles(tenant, "tenant", roles or ["member"])
    member_roles: list[str] = []
    if org_id:
        try:
            org_id = orgs_service.get_org(tenant, org_id).id
        except NotFound as exc:
            raise ValidationFailed({"org_id": "no such organization in this tenant"}) from exc
        member_roles = roles_service.require_roles(
            tenant, "org", org_roles or ["member"], field="org_roles"
        )
    elif org_roles:
        raise ValidationFailed({"org_roles": "org roles need an org_id"})
    token = new_token()
    invitation = scope(tenant).add(
        Invitation(
            email=email,
            org_id=org_id or None,
            roles=tenant_roles,
            org_roles=member_roles,
            token_digest=digest(token),
            invited_by=invited_by,
            expires_at=utcnow() + INVITATION_TTL,
        )
    )
    db.session.flush()
    _send(tenant, invitation, token)
    audit.record(
        tenant,
        "invitation.created",
        target_type="invitation",
        target_id=invitation.id,
        email=email,
        org_id=invitation.org_id,
        roles=tenant_roles,
        org_roles=member_roles or None,
    )
    return invitation, token


def resend_invitation(tenant: Tenant, invitation: Invitation) -> str:
    """Mail a fresh link with a new expiry; the previous link stops working."""
    _owned(tenant, invitation)
    if status_of(invitation) in {"accepted", "revoked"}:
        raise ValidationFailed({"invitation": f"an {status_of(invitation)} invitation"})
    token = new_token()
    invitation.token_digest = digest(token)
    invitation.expires_at = utcnow() + INVITATION_TTL
    db.session.flush()
    _send(tenant, invitation, token)
    audit.record(tenant, "invitation.resent", target_type="invitation", target_id=invitation.id)
    return token


def revoke_invitation(tenant: Tenant, invitation: Invitation) -> Invitation:
    """Withdraw a pending invitation (idempotent); an accepted one cannot be revoked."""
    _owned(tenant, invitation)
    if invitation.accepted_at is not None:
        raise ValidationFailed({"invitation": "already accepted; remove the user instead"})
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        audit.record(
            tenant, "invitation.revoked", target_type="invitation", target_id=invitation.id
        )
    return invitation


def list_invitations(tenant: Tenant, status: str | None = None) -> list[Invitation]:
    """The tenant's invitations, newest first, optionally of one status."""
    if status is not None and status not in STATUSES:
        raise ValidationFailed({"status": f"must be one of: {', '.join(STATUSES)}"})
    rows = scope(tenant).all(Invitation, order_by=Invitation.id.desc())
    now = utcnow()
    return [inv for inv in rows if status is None or status_of(inv, now) == status]


def get_invitation(tenant: Tenant, inv_id: str) -> Invitation:
    invitation = scope(tenant).get(Invitation, inv_id)
    if invitation is None:
        raise NotFound("No such invitation.")
    return invitation


def find_by_token(tenant: Tenant, token: str | None) -> Invitation | None:
    """This tenant's invitation for a link token (any status), or None."""
    if not token or len(token) > 200:
        return None
    return scope(tenant).first(Invitation, Invitation.token_digest == digest(token))


def organization_of(tenant: Tenant, invitation: Invitation) -> Organization | None:
    return scope(tenant).get(Organization, invitation.org_id) if invitation.org_id else None


def accept_invitation(
    tenant: Tenant,
    token: str,
    *,
    user: User | None = None,
    name: str = "",
    password: str | None = None,
) -> User:
    """Accept once: as ``user`` (who must have the invited email) or as a new person.

    Raises NotFound for a token that is not this tenant's, InvitationUnusable when used,
    revoked or expired, PermissionDenied for a signed-in user with another email.
    """
    invitation = find_by_token(tenant, token)
    if invitation is None:
        raise NotFound(_("This invitation link is not valid here."))
    if status_of(invitation) != "pending":
        raise InvitationUnusable(status_of(invitation))
    if user is not None:
        if user.tenant_id != tenant.id or user.email != invitation.email:
            raise PermissionDenied("This invitation was sent to another email address.")
        _claim(invitation)
        granted = sorted(set(roles_service.tenant_role_names(tenant, user)) | set(invitation.roles))
        users_service.set_tenant_roles(tenant, user, granted)
        user.email_verified = True  # the emailed link proved the address
    else:
        account_exists = Conflict(
            _("An account with this email exists here: sign in to accept."), "email"
        )
        if users_service.find_by_email(tenant, invitation.email) is not None:
            raise account_exists
        _check_new_account(tenant, invitation.email, name, password)
        _claim(invitation)
        try:
            user = users_service.create_user(
                tenant,
                invitation.email,
                name=name,
                password=password,
                roles=invitation.roles,
                email_verified=True,
                audit_action="user.created_by_invitation",
            )
        except Conflict as exc:  # a concurrent sign-up took the address (rolled back)
            raise account_exists from exc
    invitation.accepted_by = user.id
    _join_org(tenant, invitation, user)
    audit.record(
        tenant,
        "invitation.accepted",
        target_type="invitation",
        target_id=invitation.id,
        user_id=user.id,
    )
    orgs_service.auto_join(tenant, user)
    return user


def _check_new_account(tenant: Tenant, email: str, name: str, password: str | None) -> None:
    """Refuse bad input before the invitation is claimed, so a retry can still use it."""
    errors = {}
    try:
        clean_name(name, length_message="at most 200 characters")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    problems = password_problems(tenant, password, email) if password else [_("Choose a password.")]
    if problems:
        errors["password"] = " ".join(problems)
    if errors:
        raise ValidationFailed(errors)


def _claim(invitation: Invitation) -> None:
    """Mark it used with one conditional UPDATE, so two racing accepts cannot both win."""
    now = utcnow()
    result = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InvitationUnusable("accepted")
    invitation.accepted_at = now


def _join_org(tenant: Tenant, invitation: Invitation, user: User) -> None:
    org = organization_of(tenant, invitation)
    if org is None:  # no org, or it was deleted since: the tenant part still stands
        return
    current = roles_service.org_role_names(tenant, user, org.id)
    wanted = invitation.org_roles or ["member"]
    if current is None:
        orgs_service.add_member(tenant, org, user, roles=wanted)
    elif not set(wanted) <= set(current):
        orgs_service.set_member_roles(tenant, org, user, sorted(set(current) | set(wanted)))


def _owned(tenant: Tenant, invitation: Invitation) -> None:
    if invitation is None or invitation.tenant_id != tenant.id:
        raise NotFound("No such invitation.")


def _send(tenant: Tenant, invitation: Invitation, token: str) -> None:
    from app.services import mail_templates

    org = organization_of(tenant, invitation)
    mail_templates.send(
        tenant,
        "invitation",
        invitation.email,
        link=invitation_link(tenant, token),
        expires=invitation.expires_at,
        org_name=org.name if org else "",
    )
