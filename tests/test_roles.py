"""Tenant and organization roles: built-ins, custom roles, the rules around them."""

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.models import User
from app.services import orgs
from app.services import roles
from app.services import tenants as tenants_service
from app.services import users
from app.services.errors import Conflict
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.tenancy import scope


def _acme():
    return tenants_service.get_tenant("acme-corp")


def test_builtin_roles_of_both_kinds(app, tenant):
    with app.app_context():
        listed = [(r.kind, r.name, r.builtin) for r in roles.list_roles(_acme())]
        assert ("tenant", "admin", True) in listed and ("tenant", "member", True) in listed
        assert {n for k, n, _ in listed if k == "org"} == {"owner", "admin", "member"}
        assert [r.name for r in roles.list_roles(_acme(), "tenant")] == ["admin", "member"]


def test_create_custom_role_and_duplicate_conflicts(app, tenant):
    with app.app_context():
        acme = _acme()
        role = roles.create_role(acme, "tenant", "billing:viewer", "Sees invoices")
        assert role.id.startswith("rol_") and not role.builtin
        with pytest.raises(Conflict) as exc:
            roles.create_role(acme, "tenant", "billing:viewer")
        assert exc.value.errors == {"name": exc.value.message}
        # The same name is free for the other kind, and built-in names are taken.
        assert roles.create_role(acme, "org", "billing:viewer").kind == "org"
        with pytest.raises(Conflict):
            roles.create_role(acme, "org", "owner")
        actions = [e.action for e in scope(acme).all(AuditEvent)]
        assert actions.count("role.created") == 2


@pytest.mark.parametrize("name", ["", "Admin", "1st", "has space", "x" * 65, "émile", "-lead"])
def test_role_names_follow_the_rule(app, tenant, name):
    with app.app_context(), pytest.raises(ValidationFailed) as exc:
        roles.create_role(_acme(), "tenant", name)
    assert "name" in exc.value.errors


def test_kind_and_description_are_validated(app, tenant):
    with app.app_context():
        with pytest.raises(ValidationFailed) as exc:
            roles.create_role(_acme(), "team", "lead")
        assert "kind" in exc.value.errors
        with pytest.raises(ValidationFailed) as exc:
            roles.create_role(_acme(), "tenant", "lead", "d" * 301)
        assert "description" in exc.value.errors


def test_update_role_changes_only_the_description(app, tenant):
    with app.app_context():
        acme = _acme()
        role = roles.create_role(acme, "tenant", "support", "old")
        roles.update_role(acme, role, "Answers tickets")
        assert roles.get_role(acme, "support").description == "Answers tickets"
        assert scope(acme).first(AuditEvent, AuditEvent.action == "role.updated") is not None


def test_builtin_roles_cannot_be_deleted(app, tenant):
    with app.app_context():
        acme = _acme()
        with pytest.raises(ValidationFailed):
            roles.delete_role(acme, roles.get_role(acme, "admin"))
        with pytest.raises(ValidationFailed):
            roles.delete_role(acme, roles.get_role(acme, "owner", kind="org"))


def test_deleting_a_custom_role_takes_it_from_holders(app, tenant, make_user):
    make_user(tenant, "sam@example.com")
    with app.app_context():
        acme = _acme()
        sam = scope(acme).first(User, User.email == "sam@example.com")
        roles.create_role(acme, "tenant", "auditor")
        org_role = roles.create_role(acme, "org", "reviewer")
        org = orgs.create_org(acme, "Research")
        orgs.add_member(acme, org, sam, roles=["member", "reviewer"])
        users.set_tenant_roles(acme, sam, ["member", "auditor"])
        roles.delete_role(acme, roles.get_role(acme, "auditor"))
        roles.delete_role(acme, org_role)
        db.session.commit()
        assert roles.tenant_role_names(acme, sam) == ["member"]
        assert roles.org_role_names(acme, sam, org.id) == ["member"]
        assert scope(acme).count(AuditEvent, AuditEvent.action == "role.deleted") == 2


def test_get_role_by_id_or_name_and_kind(app, tenant):
    with app.app_context():
        acme = _acme()
        owner = roles.get_role(acme, "owner", kind="org")
        assert roles.get_role(acme, owner.id).name == "owner"
        with pytest.raises(NotFound):
            roles.get_role(acme, "owner")  # a name without kind means a tenant role
        with pytest.raises(NotFound):
            roles.get_role(acme, owner.id, kind="tenant")


def test_roles_of_another_tenant_are_not_found(app, tenant, other_tenant):
    with app.app_context():
        globex = tenants_service.get_tenant("globex")
        theirs = roles.create_role(globex, "tenant", "globex-only")
        acme = _acme()
        with pytest.raises(NotFound):
            roles.get_role(acme, theirs.id)
        with pytest.raises(NotFound):
            roles.delete_role(acme, theirs)
        with pytest.raises(NotFound):
            roles.update_role(acme, theirs, "hijacked")
        with pytest.raises(ValidationFailed):
            roles.require_roles(acme, "tenant", ["globex-only"])


def test_require_roles_refuses_unknown_and_wrong_kind(app, tenant):
    with app.app_context():
        acme = _acme()
        assert roles.require_roles(acme, "org", ["member", "owner", "member"]) == [
            "member",
            "owner",
        ]
        with pytest.raises(ValidationFailed) as exc:
            roles.require_roles(acme, "tenant", ["owner"])  # an org role, not a tenant role
        assert "unknown tenant role: owner" in exc.value.errors["roles"]
        with pytest.raises(ValidationFailed):
            roles.require_roles(acme, "tenant", "admin")  # a string is not a list
