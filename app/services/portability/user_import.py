"""Applying import records to one tenant: create or update users by ``external_id`` or
email, with tenant roles, organization memberships and linked upstream identities.

Re-applying the same record changes nothing. A password hash from the file is set only
on a user who has no password yet, so a re-import never undoes a password the person
has since changed (or an imported hash already upgraded to argon2id at sign-in).
Everything a record names is resolved before anything is written, so a bad record
leaves no trace; the caller still runs each record in a savepoint.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import LinkedIdentity
from app.models import Membership
from app.models import MembershipRole
from app.models import Organization
from app.models import Role
from app.models import Tenant
from app.models import UpstreamProvider
from app.models import User
from app.models import UserRole
from app.services import roles as roles_service
from app.services.errors import ValidationFailed
from app.services.portability.records import RecordError
from app.services.portability.records import normalize
from app.services.users import normalize_email
from app.tenancy import scope

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class UserImporter:
    """Applies records to ``tenant``; role, organization and provider lookups are cached
    for the whole job (ids only, so the session can be cleared between batches)."""

    def __init__(self, tenant: Tenant, *, keep_ids: bool = False):
        self.tenant = tenant
        # A whole-tenant import keeps user ids (the ``sub`` apps know) where they are free.
        self.keep_ids = keep_ids
        self.data = scope(tenant)
        roles_service.ensure_builtin_roles(tenant)
        self.refresh()

    def refresh(self) -> None:
        """Re-read roles, organizations and providers (after a tenant import adds some)."""
        roles = self.data.all(Role)
        self.tenant_roles = {r.name: r.id for r in roles if r.kind == "tenant"}
        self.org_roles = {r.name: r.id for r in roles if r.kind == "org"}
        self.orgs: dict[str, str] = {}
        for org in self.data.all(Organization):
            self.orgs[org.slug] = self.orgs[org.id] = org.id
        self.providers = [(p.id, p.name.lower(), p.kind) for p in self.data.all(UpstreamProvider)]

    # --- resolving names -------------------------------------------------------------

    def _role_ids(self, names: list[str], kind: str, where: str) -> set[str]:
        known = self.tenant_roles if kind == "tenant" else self.org_roles
        missing = [n for n in names if n not in known]
        if missing:
            raise RecordError(f"{where}: unknown {kind} role: {', '.join(missing)}")
        return {known[n] for n in names}

    def _provider_id(self, ref: str, where: str) -> str:
        lowered = ref.lower()
        for by in (0, 1):
            found = [p[0] for p in self.providers if p[by] == (ref if by == 0 else lowered)]
            if found:
                return found[0]
        of_kind = [p[0] for p in self.providers if p[2] == lowered]
        if len(of_kind) == 1:
            return of_kind[0]
        raise RecordError(f"{where}: no upstream provider '{ref}' in this tenant")

    def _resolve(self, rec: dict) -> dict:
        plan: dict = {}
        if "roles" in rec:
            plan["roles"] = self._role_ids(rec["roles"], "tenant", "roles")
        if "organizations" in rec:
            plan["orgs"] = {}
            for index, item in enumerate(rec["organizations"]):
                org_id = self.orgs.get(item["org"])
                if org_id is None:
                    raise RecordError(f"organizations[{index}]: no organization '{item['org']}'")
                where = f"organizations[{index}].roles"
                plan["orgs"][org_id] = self._role_ids(item["roles"], "org", where)
        if "identities" in rec:
            plan["identities"] = [
                (self._provider_id(item["provider"], f"identities[{i}]"), item)
                for i, item in enumerate(rec["identities"])
            ]
        return plan

    # --- applying --------------------------------------------------------------------

    def _find(self, email: str, external_id: str | None) -> User | None:
        by_email = self.data.first(User, User.email == email)
        if external_id is None:
            return by_email
        user = self.data.first(User, User.external_id == external_id)
        if user is None:
            if by_email is not None and by_email.external_id not in (None, external_id):
                raise RecordError("email: belongs to a user with another external_id")
            return by_email
        if by_email is not None and by_email.id != user.id:
            raise RecordError("email: already used by another user")
        return user

    def apply(self, raw: object) -> str:
        """Create or update one user; returns created, updated or unchanged."""
        rec = normalize(raw)
        try:
            email = normalize_email(rec["email"])
        except ValidationFailed as exc:
            raise RecordError(f"email: {exc.errors['email']}") from exc
        user = self._find(email, rec.get("external_id"))
        plan = self._resolve(rec)
        if user is None:
            user = self.data.add(
                User(
                    email=email,
                    name=rec.get("name", ""),
                    email_verified=rec.get("email_verified", False),
                    status=rec.get("status", "active"),
                    external_id=rec.get("external_id"),
                    user_metadata=rec.get("metadata", {}),
                    password_hash=rec.get("password_hash"),
                )
            )
            if self.keep_ids:
                self._keep_identity(user, raw)
            db.session.flush()
            self._set_roles(user, plan.get("roles", {self.tenant_roles["member"]}), new=True)
            self._set_orgs(user, plan.get("orgs", {}))
            self._set_identities(user, plan.get("identities", []))
            return CREATED
        changed = self._update(user, email, rec)
        if "roles" in plan:
            changed |= self._set_roles(user, plan["roles"])
        changed |= self._set_orgs(user, plan.get("orgs", {}))
        changed |= self._set_identities(user, plan.get("identities", []))
        return UPDATED if changed else UNCHANGED

    @staticmethod
    def _keep_identity(user: User, raw: dict) -> None:
        """A tenant import keeps the user's id (when free) and creation time."""
        kept = raw.get("id")
        if isinstance(kept, str) and kept.startswith("usr_") and len(kept) <= 40:
            user.id = kept if db.session.get(User, kept) is None else user.id
        with contextlib.suppress(KeyError, TypeError, ValueError):
            user.created_at = datetime.fromisoformat(raw["created_at"])

    def _update(self, user: User, email: str, rec: dict) -> bool:
        wanted = {
            "email": email,
            "name": rec.get("name", user.name),
            "email_verified": rec.get("email_verified", user.email_verified),
            "status": rec.get("status", user.status),
            "external_id": rec.get("external_id", user.external_id),
            "user_metadata": rec.get("metadata", user.user_metadata),
        }
        if user.password_hash is None and rec.get("password_hash"):
            wanted["password_hash"] = rec["password_hash"]
        changed = False
        for field, value in wanted.items():
            if getattr(user, field) != value:
                setattr(user, field, value)
                changed = True
        if changed:
            db.session.flush()
        return changed

    def _set_roles(self, user: User, role_ids: set[str], *, new: bool = False) -> bool:
        current = set()
        if not new:
            current = set(
                db.session.scalars(
                    select(UserRole.role_id).where(
                        UserRole.tenant_id == self.tenant.id, UserRole.user_id == user.id
                    )
                )
            )
        if current == role_ids:
            return False
        for row in self.data.all(UserRole, UserRole.user_id == user.id) if not new else []:
            if row.role_id not in role_ids:
                db.session.delete(row)
        for role_id in role_ids - current:
            self.data.add(UserRole(user_id=user.id, role_id=role_id))
        db.session.flush()
        return True

    def _set_orgs(self, user: User, orgs: dict[str, set[str]]) -> bool:
        changed = False
        for org_id, role_ids in orgs.items():
            membership = self.data.first(
                Membership, Membership.org_id == org_id, Membership.user_id == user.id
            )
            if membership is None:
                membership = self.data.add(Membership(org_id=org_id, user_id=user.id))
                db.session.flush()
                rows = []
            else:
                rows = self.data.all(MembershipRole, MembershipRole.membership_id == membership.id)
            current = {r.role_id for r in rows}
            if current == role_ids:
                continue
            for row in rows:
                if row.role_id not in role_ids:
                    db.session.delete(row)
            for role_id in role_ids - current:
                self.data.add(MembershipRole(membership_id=membership.id, role_id=role_id))
            changed = True
        if changed:
            db.session.flush()
        return changed

    def _set_identities(self, user: User, identities: list) -> bool:
        changed = False
        for provider_id, item in identities:
            linked = self.data.first(
                LinkedIdentity,
                LinkedIdentity.provider_id == provider_id,
                LinkedIdentity.subject == item["subject"],
            )
            if linked is not None:
                if linked.user_id != user.id:
                    raise RecordError(
                        f"identities: {item['provider']} {item['subject']} is linked to "
                        "another user"
                    )
                continue
            self.data.add(
                LinkedIdentity(
                    provider_id=provider_id,
                    user_id=user.id,
                    subject=item["subject"],
                    email=(item.get("email") or "")[:320] or None,
                )
            )
            changed = True
        if changed:
            db.session.flush()
        return changed
