"""Users of a tenant: creation, lookup, roles."""

from __future__ import annotations

from collections.abc import Callable

from email_validator import EmailNotValidError
from email_validator import validate_email
from sqlalchemy import delete
from sqlalchemy import update

from app.extensions import db
from app.models import BrowserSession
from app.models import Grant
from app.models import Tenant
from app.models import User
from app.models import UserRole
from app.models.base import utcnow
from app.quotas import enforce as quotas
from app.security.passwords import hash_password
from app.services import audit
from app.services import roles as roles_service
from app.services.errors import Conflict
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.services.grants import revoke_session_grants
from app.services.integrity import flush_unique
from app.services.names import clean_name
from app.services.password_policy import password_problems
from app.services.sessions import end_session
from app.services.sessions import end_user_sessions
from app.tenancy import scope


def normalize_email(raw: str, *, strict: bool = True) -> str:
    """Syntax-check an address and return its normalised form; raises ValidationFailed.

    ``strict`` also refuses a local part over 64 characters (RFC 5321 §4.5.3.1.1), as
    every new or changed address must; lookups pass ``strict=False`` so an older
    account keeps working."""
    try:
        result = validate_email((raw or "").strip(), check_deliverability=False, strict=strict)
    except EmailNotValidError as exc:
        raise ValidationFailed({"email": str(exc)}) from exc
    return result.normalized.lower()


def find_by_email(tenant: Tenant, email: str) -> User | None:
    try:
        normalized = normalize_email(email, strict=False)
    except ValidationFailed:
        return None
    return scope(tenant).first(User, User.email == normalized)


def _email_taken() -> Conflict:
    return Conflict("A user with this email already exists.", field="email")


def new_account_fields(
    tenant: Tenant,
    email: str,
    name: str,
    password: str | None,
    *,
    email_rule: Callable[[str], str | None] | None = None,
) -> tuple[str, str]:
    """The normalised ``(email, name)`` of a new account, or ValidationFailed naming every
    field's problem at once (email syntax, ``email_rule``'s, name, password policy)."""
    errors: dict[str, str] = {}
    try:
        email = normalize_email(email)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    else:
        refusal = email_rule(email) if email_rule else None
        if refusal:
            errors["email"] = refusal
    try:
        name = clean_name(name, length_message="at most 200 characters")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if password is not None:
        problems = password_problems(tenant, password, email)
        if problems:
            errors["password"] = " ".join(problems)
    if errors:
        raise ValidationFailed(errors)
    return email, name


def create_user(
    tenant: Tenant,
    email: str,
    *,
    name: str = "",
    password: str | None = None,
    roles: list[str] | None = None,
    email_verified: bool = False,
    metadata: dict | None = None,
    external_id: str | None = None,
    audit_action: str = "user.created",
) -> User:
    """Create a user in ``tenant``; the password must satisfy the tenant's policy."""
    email, name = new_account_fields(tenant, email, name, password)
    _check_metadata(metadata)
    _check_external_id(tenant, external_id)
    if scope(tenant).first(User, User.email == email):
        raise _email_taken()
    quotas.check_capacity(tenant, "max_users")
    if audit_action == "signup":  # self sign-up (form, upstream or enterprise SSO)
        quotas.admit_signup(tenant)
    user = scope(tenant).add(
        User(
            email=email,
            name=name,
            password_hash=hash_password(password) if password else None,
            email_verified=email_verified,
            user_metadata=metadata or {},
            external_id=external_id,
        )
    )
    flush_unique(_email_taken())  # a concurrent request may have taken it since the check
    set_tenant_roles(tenant, user, roles if roles is not None else ["member"], audited=False)
    audit.record(tenant, audit_action, target_type="user", target_id=user.id, email=email)
    return user


def _check_metadata(metadata) -> None:
    from app.services.portability.records import metadata_problem

    problem = None if metadata is None else metadata_problem(metadata)
    if problem:
        raise ValidationFailed({"metadata": problem})


def _check_external_id(tenant: Tenant, external_id: str | None, except_id: str | None = None):
    if external_id is None:
        return
    taken = scope(tenant).first(User, User.external_id == external_id, User.id != except_id)
    if taken is not None:
        raise Conflict("Another user has this external_id.", field="external_id")


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


# --- administration (admin API and console) -------------------------------------------

USER_STATUSES = ("active", "disabled")


def get_user(tenant: Tenant, user_id: str) -> User:
    """A user of this tenant by id; raises NotFound (also for another tenant's id)."""
    user = scope(tenant).get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def list_users(
    tenant: Tenant, query: str = "", *, after: str | None = None, limit: int = 50
) -> list[User]:
    """Users ordered by id (creation order), matching ``query`` in email or name."""
    stmt = scope(tenant).select(User).order_by(User.id).limit(limit)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(User.email.ilike(like) | User.name.ilike(like))
    if after:
        stmt = stmt.where(User.id > after)
    return list(db.session.scalars(stmt))


def set_user_status(tenant: Tenant, user: User, status: str) -> User:
    """Enable (``active``) or disable (``disabled``) a user; disabling ends their sessions
    and revokes their refresh-token families."""
    if status not in USER_STATUSES:
        raise ValidationFailed({"status": "must be 'active' or 'disabled'"})
    if user.status == status:
        return user
    user.status = status
    if status == "disabled":
        end_all_sessions(tenant, user, reason="user_disabled")
    audit.record(
        tenant,
        "user.disabled" if status == "disabled" else "user.enabled",
        target_type="user",
        target_id=user.id,
    )
    return user


def end_all_sessions(tenant: Tenant, user: User, *, reason: str = "revoked") -> int:
    """End the user's browser sessions (their clients are told over the back channel) and
    revoke their refresh-token families (grants); returns how many sessions ended."""
    ended = end_user_sessions(tenant, user.id, reason=reason)
    db.session.execute(
        update(Grant)
        .where(Grant.tenant_id == tenant.id, Grant.user_id == user.id, Grant.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    audit.record(tenant, "user.sessions_ended", target_type="user", target_id=user.id, count=ended)
    return ended


def end_session_by_id(tenant: Tenant, session_id: str) -> None:
    """End one browser session of this tenant (and its grants); NotFound for others."""
    session = scope(tenant).get(BrowserSession, session_id)
    if session is None or session.ended_at is not None:
        raise NotFound("No such live session.")
    end_session(session, reason="revoked")
    revoke_session_grants(tenant, session.id, reason="session_ended")
    audit.record(
        tenant,
        "session.ended",
        target_type="session",
        target_id=session.id,
        user_id=session.user_id,
    )


def update_user(tenant: Tenant, user: User, data: dict) -> User:
    """Apply a partial update: ``email`` (unique in the tenant), ``name``, ``email_verified``,
    ``password`` (policy-checked, hashed; ends the user's sessions), ``status``, ``roles``,
    ``metadata`` (a JSON object of at most 16 KB), ``external_id``."""
    errors: dict[str, str] = {}
    changed: list[str] = []
    email = user.email
    if "email" in data:
        try:
            email = normalize_email(data["email"])
        except ValidationFailed as exc:
            errors.update(exc.errors)
    name = user.name
    if "name" in data:
        try:
            name = clean_name(data["name"], length_message="at most 200 characters")
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if data.get("password") is not None:
        problems = password_problems(tenant, data["password"], email)
        if problems:
            errors["password"] = " ".join(problems)
    if "status" in data and data["status"] not in USER_STATUSES:
        errors["status"] = "must be 'active' or 'disabled'"
    if "metadata" in data:
        try:
            _check_metadata(data["metadata"])
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    if "external_id" in data and data["external_id"] != user.external_id:
        _check_external_id(tenant, data["external_id"], except_id=user.id)
        user.external_id = data["external_id"]
        changed.append("external_id")
    if "metadata" in data and data["metadata"] != user.user_metadata:
        user.user_metadata = data["metadata"]
        changed.append("metadata")
    if email != user.email:
        if scope(tenant).first(User, User.email == email, User.id != user.id):
            raise _email_taken()
        user.email, user.email_verified = email, False
        flush_unique(_email_taken())
        changed.append("email")
    if name != user.name:
        user.name = name
        changed.append("name")
    if "email_verified" in data and bool(data["email_verified"]) != user.email_verified:
        user.email_verified = bool(data["email_verified"])
        changed.append("email_verified")
    if data.get("password") is not None:
        user.password_hash = hash_password(data["password"])
        user.password_changed_at = utcnow()
        changed.append("password")
    if changed:
        db.session.flush()
        audit.record(tenant, "user.updated", target_type="user", target_id=user.id, fields=changed)
    if "password" in changed:  # a password set by an admin signs the user out everywhere
        end_all_sessions(tenant, user, reason="password_changed")
    if "roles" in data:
        set_tenant_roles(tenant, user, list(data["roles"]))
    if "status" in data:
        set_user_status(tenant, user, data["status"])
    return user


def delete_user(tenant: Tenant, user: User) -> None:
    """Erase a user (GDPR Art. 17): sessions and refresh tokens end, the account and all
    that hangs off it go, the audit trail stays with the person pseudonymised."""
    from app.services.portability.account_data import erase_user

    erase_user(tenant, user)
