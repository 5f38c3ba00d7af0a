"""Applying import records to one tenant: create or update users by ``external_id`` or
email, with tenant roles, organization memberships and linked upstream identities.

Re-applying the same record changes nothing. A password hash from the file is set only
on a user who has no password yet, so a re-import never undoes a password the person
has since changed (or an imported hash already upgraded to argon2id at sign-in).
Everything a record names is resolved before anything is written, so a bad record
leaves no trace. Records are applied a chunk at a time (see :meth:`apply_chunk`).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from datetime import datetime

from sqlalchemy import or_

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
from app.models.base import new_id
from app.quotas.enforce import capacity_message
from app.quotas.enforce import room_left
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

    # --- applying, a chunk at a time ---------------------------------------------------

    def apply_chunk(self, items: list[tuple[int, object]]) -> list[tuple[int, object]]:
        """Apply a chunk of (line, record); returns (line, outcome or RecordError) pairs.

        What the chunk's records refer to is read with a few ``IN`` queries up front and
        nothing is flushed here: the caller calls :meth:`flush` once per chunk (and redoes
        a chunk record by record, in savepoints, if that hits a database conflict)."""
        results: list[tuple[int, object]] = []
        ready: list[tuple[int, dict, str, object]] = []
        self.pending: dict[int, list] = {1: [], 2: []}
        for line, raw in items:
            try:
                if isinstance(raw, RecordError):
                    raise raw
                rec = normalize(raw)
                try:
                    email = normalize_email(rec["email"])
                except ValidationFailed as exc:
                    raise RecordError(f"email: {exc.errors['email']}") from exc
                ready.append((line, rec, email, raw))
            except RecordError as exc:
                results.append((line, exc))
        self._prefetch(ready)
        # max_users (#23): what the quota allows now; records beyond it are refused one by
        # one, so an import never takes a tenant past its limit.
        self.room = room_left(self.tenant, "max_users")
        for line, rec, email, raw in ready:
            try:
                results.append((line, self._apply(rec, email, raw)))
            except RecordError as exc:
                results.append((line, exc))
        return sorted(results, key=lambda pair: pair[0])

    def _later(self, level: int, row):
        """Rows that reference users (1) or memberships (2) are inserted after them: the
        models have no relationships, so the session would not order the inserts."""
        row.tenant_id = self.tenant.id
        self.pending[level].append(row)
        return row

    def flush(self) -> None:
        """Write the chunk: users first, then what hangs off them."""
        db.session.flush()
        for level in (1, 2):
            db.session.add_all(self.pending[level])
            db.session.flush()
        self.pending = {1: [], 2: []}

    def _prefetch(self, ready: list) -> None:
        emails = {email for _, _, email, _ in ready}
        external = {rec["external_id"] for _, rec, _, _ in ready if rec.get("external_id")}
        users = db.session.scalars(
            self.data.select(User, or_(User.email.in_(emails), User.external_id.in_(external)))
        ).all()
        self.by_email = {u.email: u for u in users}
        self.by_external = {u.external_id: u for u in users if u.external_id}
        ids = [u.id for u in users]
        self.user_roles: dict[str, dict[str, UserRole]] = defaultdict(dict)
        self.members: dict[tuple[str, str], tuple[Membership, dict]] = {}
        if ids:
            for row in self.data.all(UserRole, UserRole.user_id.in_(ids)):
                self.user_roles[row.user_id][row.role_id] = row
            memberships = self.data.all(Membership, Membership.user_id.in_(ids))
            by_id = {m.id: (m, {}) for m in memberships}
            if by_id:
                for row in self.data.all(
                    MembershipRole, MembershipRole.membership_id.in_(list(by_id))
                ):
                    by_id[row.membership_id][1][row.role_id] = row
            self.members = {(m.user_id, m.org_id): (m, roles) for m, roles in by_id.values()}
        subjects = {item["subject"] for _, rec, _, _ in ready for item in rec.get("identities", [])}
        self.owners = {}
        if subjects:
            for row in self.data.all(LinkedIdentity, LinkedIdentity.subject.in_(subjects)):
                self.owners[(row.provider_id, row.subject)] = row.user_id

    def _find(self, email: str, external_id: str | None) -> User | None:
        by_email = self.by_email.get(email)
        if external_id is None:
            return by_email
        user = self.by_external.get(external_id)
        if user is None:
            if by_email is not None and by_email.external_id not in (None, external_id):
                raise RecordError("email: belongs to a user with another external_id")
            return by_email
        if by_email is not None and by_email.id != user.id:
            raise RecordError("email: already used by another user")
        return user

    def _apply(self, rec: dict, email: str, raw: object) -> str:
        """One record; every check happens before the first change."""
        user = self._find(email, rec.get("external_id"))
        plan = self._resolve(rec)
        for provider_id, item in plan.get("identities", []):
            owner = self.owners.get((provider_id, item["subject"]))
            if owner is not None and (user is None or owner != user.id):
                raise RecordError(
                    f"identities: {item['provider']} {item['subject']} is linked to another user"
                )
        if user is None:
            if self.room is not None:
                if self.room <= 0:
                    raise RecordError(capacity_message(self.tenant, "max_users"))
                self.room -= 1
            user = self._create(rec, email, raw)
            self._set_roles(user, plan.get("roles", {self.tenant_roles["member"]}))
            self._set_orgs(user, plan.get("orgs", {}))
            self._set_identities(user, plan.get("identities", []))
            return CREATED
        changed = self._update(user, email, rec)
        if "roles" in plan:
            changed |= self._set_roles(user, plan["roles"])
        changed |= self._set_orgs(user, plan.get("orgs", {}))
        changed |= self._set_identities(user, plan.get("identities", []))
        return UPDATED if changed else UNCHANGED

    def _create(self, rec: dict, email: str, raw: object) -> User:
        user = User(
            id=new_id("usr"),
            email=email,
            name=rec.get("name", ""),
            email_verified=rec.get("email_verified", False),
            status=rec.get("status", "active"),
            external_id=rec.get("external_id"),
            user_metadata=rec.get("metadata", {}),
            password_hash=rec.get("password_hash"),
            failed_logins=0,
        )
        if self.keep_ids:
            self._keep_identity(user, raw)
        self.data.add(user)
        self.by_email[email] = user
        if user.external_id:
            self.by_external[user.external_id] = user
        return user

    def _keep_identity(self, user: User, raw: dict) -> None:
        """A tenant import keeps the user's id (when free) and creation time."""
        kept = raw.get("id")
        if isinstance(kept, str) and kept.startswith("usr_") and len(kept) <= 40:
            taken = any(u.id == kept for u in self.by_email.values())
            if not taken and db.session.get(User, kept) is None:
                user.id = kept
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
            self.by_email[email] = user
            if user.external_id:
                self.by_external[user.external_id] = user
        return changed

    def _set_roles(self, user: User, role_ids: set[str]) -> bool:
        current = self.user_roles[user.id]
        if set(current) == role_ids:
            return False
        for role_id in set(current) - role_ids:
            db.session.delete(current.pop(role_id))
        for role_id in role_ids - set(current):
            current[role_id] = self._later(
                1, UserRole(id=new_id("url"), user_id=user.id, role_id=role_id)
            )
        return True

    def _set_orgs(self, user: User, orgs: dict[str, set[str]]) -> bool:
        changed = False
        for org_id, role_ids in orgs.items():
            entry = self.members.get((user.id, org_id))
            if entry is None:
                membership = Membership(id=new_id("mem"), org_id=org_id, user_id=user.id)
                entry = self.members[(user.id, org_id)] = (self._later(1, membership), {})
                changed = True
            membership, current = entry
            if set(current) == role_ids:
                continue
            for role_id in set(current) - role_ids:
                db.session.delete(current.pop(role_id))
            for role_id in role_ids - set(current):
                current[role_id] = self._later(
                    2,
                    MembershipRole(id=new_id("mrl"), membership_id=membership.id, role_id=role_id),
                )
            changed = True
        return changed

    def _set_identities(self, user: User, identities: list) -> bool:
        changed = False
        for provider_id, item in identities:
            if (provider_id, item["subject"]) in self.owners:
                continue
            self._later(
                1,
                LinkedIdentity(
                    id=new_id("lid"),
                    provider_id=provider_id,
                    user_id=user.id,
                    subject=item["subject"],
                    email=(item.get("email") or "")[:320] or None,
                ),
            )
            self.owners[(provider_id, item["subject"])] = user.id
            changed = True
        return changed
