"""Organizations and memberships (services): slugs, isolation, owners, auto-join, audit."""

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.models import Membership
from app.models import User
from app.services import orgs
from app.services import tenants as tenants_service
from app.services.errors import Conflict
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.tenancy import scope


def _t(slug="acme-corp"):
    return tenants_service.get_tenant(slug)


def _user(tenant, email):
    return scope(tenant).first(User, User.email == email)


def _actions(tenant):
    return [e.action for e in scope(tenant).all(AuditEvent, order_by=AuditEvent.id)]


def test_create_derives_the_slug_and_keeps_it_unique_per_tenant(app, tenant, other_tenant):
    with app.app_context():
        org = orgs.create_org(_t(), "Acme Engineering", domains=["Acme.example.com", "@eng.io"])
        assert (org.slug, org.id[:4]) == ("acme-engineering", "org_")
        assert org.domains == ["acme.example.com", "eng.io"]
        with pytest.raises(Conflict) as exc:
            orgs.create_org(_t(), "Another", slug="acme-engineering")
        assert "slug" in exc.value.errors
        # Another tenant may use the same slug: uniqueness is per tenant.
        assert orgs.create_org(_t("globex"), "Acme Engineering").slug == "acme-engineering"
        assert "org.created" in _actions(_t())


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"name": ""}, "name"),
        ({"name": "Ok", "slug": "Bad Slug"}, "slug"),
        ({"name": "Ok", "slug": "-x"}, "slug"),
        ({"name": "Ok", "domains": ["not a domain"]}, "domains"),
        ({"name": "Ok", "domains": "acme.com"}, "domains"),
    ],
)
def test_create_validates_fields(app, tenant, kwargs, field):
    with app.app_context(), pytest.raises(ValidationFailed) as exc:
        orgs.create_org(_t(), **kwargs)
    assert field in exc.value.errors


def test_update_renames_and_checks_the_slug(app, tenant):
    with app.app_context():
        acme = _t()
        first = orgs.create_org(acme, "First")
        second = orgs.create_org(acme, "Second")
        orgs.update_org(acme, first, name="First Team", slug="team-one", domains=["one.example"])
        assert (first.name, first.slug, first.domains) == (
            "First Team",
            "team-one",
            ["one.example"],
        )
        with pytest.raises(Conflict):
            orgs.update_org(acme, second, slug="team-one")
        orgs.update_org(acme, first, slug="team-one")  # its own slug is fine
        event = scope(acme).first(AuditEvent, AuditEvent.action == "org.updated")
        assert event.data["changes"]["slug"] == {"before": "first", "after": "team-one"}


def test_get_org_by_id_or_slug_and_never_another_tenants(app, tenant, other_tenant):
    with app.app_context():
        theirs = orgs.create_org(_t("globex"), "Globex Labs")
        ours = orgs.create_org(_t(), "Acme Labs")
        db.session.commit()
        assert orgs.get_org(_t(), ours.id).id == ours.id
        assert orgs.get_org(_t(), "acme-labs").id == ours.id
        for ref in (theirs.id, "globex-labs", "", None):
            with pytest.raises(NotFound):
                orgs.get_org(_t(), ref)
        with pytest.raises(NotFound):
            orgs.update_org(_t(), theirs, name="Hijacked")
        with pytest.raises(NotFound):
            orgs.delete_org(_t(), theirs, confirm="globex-labs")


def test_list_orgs_filters_and_pages_by_cursor(app, tenant, other_tenant):
    with app.app_context():
        made = [orgs.create_org(_t(), f"Team {n}") for n in range(5)]
        orgs.create_org(_t("globex"), "Team Globex")
        page = orgs.list_orgs(_t(), limit=2)
        assert [o.id for o in page] == [m.id for m in made[:2]]
        rest = orgs.list_orgs(_t(), after=page[-1].id)
        assert [o.id for o in rest] == [m.id for m in made[2:]]
        assert [o.slug for o in orgs.list_orgs(_t(), query="TEAM-3")] == ["team-3"]


def test_members_roles_and_the_last_owner(app, tenant, make_user):
    make_user(tenant, "olga@example.com")
    make_user(tenant, "max@example.com")
    with app.app_context():
        acme = _t()
        olga, max_ = _user(acme, "olga@example.com"), _user(acme, "max@example.com")
        org = orgs.create_org(acme, "Platform")
        orgs.add_member(acme, org, olga, roles=["owner"])
        orgs.add_member(acme, org, max_)
        with pytest.raises(Conflict):
            orgs.add_member(acme, org, max_)
        with pytest.raises(ValidationFailed):
            orgs.add_member(acme, orgs.create_org(acme, "Other"), max_, roles=["superuser"])
        with pytest.raises(ValidationFailed):
            orgs.set_member_roles(acme, org, olga, ["admin"])  # the only owner
        with pytest.raises(ValidationFailed):
            orgs.remove_member(acme, org, olga)
        orgs.set_member_roles(acme, org, max_, ["admin", "owner"])
        orgs.set_member_roles(acme, org, olga, ["member"])  # now another owner exists
        listed = {m["user"].email: m["roles"] for m in orgs.list_members(acme, org)}
        assert listed == {"max@example.com": ["admin", "owner"], "olga@example.com": ["member"]}
        orgs.remove_member(acme, org, olga)
        with pytest.raises(NotFound):
            orgs.remove_member(acme, org, olga)
        assert [o.name for o, _ in orgs.orgs_of(acme, olga)] == []
        assert [(o.name, r) for o, r in orgs.orgs_of(acme, max_)] == [
            ("Platform", ["admin", "owner"])
        ]
        actions = _actions(acme)
        for action in ("org.member_added", "org.member_roles_changed", "org.member_removed"):
            assert action in actions


def test_a_user_may_belong_to_several_orgs(app, tenant, user):
    with app.app_context():
        acme = _t()
        ada = _user(acme, "ada@example.com")
        for name in ("Blue", "Green"):
            orgs.add_member(acme, orgs.create_org(acme, name), ada, roles=["admin"])
        assert [(o.name, r) for o, r in orgs.orgs_of(acme, ada)] == [
            ("Blue", ["admin"]),
            ("Green", ["admin"]),
        ]


def test_users_of_another_tenant_cannot_be_added(app, tenant, other_tenant, make_user):
    make_user(other_tenant, "stranger@example.com")
    with app.app_context():
        stranger = _user(_t("globex"), "stranger@example.com")
        with pytest.raises(NotFound):
            orgs.add_member(_t(), orgs.create_org(_t(), "Closed"), stranger)


def test_delete_needs_the_slug_and_keeps_the_users(app, tenant, user):
    with app.app_context():
        acme = _t()
        org = orgs.create_org(acme, "Doomed")
        orgs.add_member(acme, org, _user(acme, "ada@example.com"), roles=["owner"])
        with pytest.raises(ValidationFailed) as exc:
            orgs.delete_org(acme, org, confirm="Doomed")
        assert "confirm" in exc.value.errors
        orgs.delete_org(acme, org, confirm="doomed")
        db.session.commit()
        assert scope(acme).count(Membership) == 0
        assert _user(acme, "ada@example.com") is not None
        assert "org.deleted" in _actions(acme)


def test_auto_join_needs_a_verified_email_at_the_domain(app, tenant, make_user):
    make_user(tenant, "vera@eng.acme.example", email_verified=True)
    make_user(tenant, "uma@eng.acme.example", email_verified=False)
    make_user(tenant, "otto@elsewhere.example", email_verified=True)
    with app.app_context():
        acme = _t()
        org = orgs.create_org(acme, "Engineering", domains=["eng.acme.example"])
        orgs.create_org(acme, "Sales", domains=["sales.acme.example"])
        assert [o.id for o in orgs.auto_join(acme, _user(acme, "vera@eng.acme.example"))] == [
            org.id
        ]
        assert orgs.auto_join(acme, _user(acme, "vera@eng.acme.example")) == []  # idempotent
        assert orgs.auto_join(acme, _user(acme, "uma@eng.acme.example")) == []
        assert orgs.auto_join(acme, _user(acme, "otto@elsewhere.example")) == []
        members = orgs.list_members(acme, org)
        assert [(m["user"].email, m["roles"]) for m in members] == [
            ("vera@eng.acme.example", ["member"])
        ]


def test_demo_data_has_an_organization_idempotently(app):
    from app.services.demo import seed_demo

    with app.app_context():
        seed_demo()
        db.session.commit()
        seed_demo()
        db.session.commit()
        acme = _t()
        org = orgs.get_org(acme, "engineering")
        members = {m["user"].email: m["roles"] for m in orgs.list_members(acme, org)}
        assert org.name == "Acme Engineering"
        assert members == {
            "admin@acme.example.com": ["owner"],
            "member@acme.example.com": ["member"],
        }
