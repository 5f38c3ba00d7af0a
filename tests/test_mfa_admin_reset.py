"""Admins reset a user's MFA from the REST API and the console (audited ``mfa.reset``)."""

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.models import MfaFactor
from app.models import RecoveryCode
from app.services import recovery_codes
from app.services import totp
from app.tenancy import scope
from tests.support.api import Api
from tests.support.api import create_admin_key


def _enrol(app, tenant, user):
    with app.app_context():
        totp.begin_enrolment(db.session.merge(tenant), db.session.merge(user))
        recovery_codes.generate(db.session.merge(tenant), db.session.merge(user))
        db.session.commit()


def _factors(app, tenant, user):
    with app.app_context():
        return scope(tenant).count(MfaFactor, MfaFactor.user_id == user.id) + scope(tenant).count(
            RecoveryCode, RecoveryCode.user_id == user.id
        )


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app, tenant))


def test_api_resets_mfa_and_names_the_key(app, api, tenant, user):
    _enrol(app, tenant, user)
    assert _factors(app, tenant, user) == 11
    response = api.delete(f"/tenants/acme-corp/users/{user.id}/mfa")
    assert response.status_code == 200 and response.get_json() == {"removed": 1}
    assert _factors(app, tenant, user) == 0
    with app.app_context():
        event = scope(tenant).first(AuditEvent, AuditEvent.action == "mfa.reset")
        assert event.target_id == user.id and event.actor_type == "api_key"


def test_api_reset_of_another_tenants_user_is_404(app, tenant, other_tenant, make_user):
    stranger = make_user(other_tenant, "eve@example.com")
    _enrol(app, other_tenant, stranger)
    api = Api(app, create_admin_key(app, tenant))
    assert api.delete(f"/tenants/acme-corp/users/{stranger.id}/mfa").status_code == 404
    assert api.delete(f"/tenants/globex/users/{stranger.id}/mfa").status_code == 404
    assert _factors(app, other_tenant, stranger) == 11


def test_console_resets_mfa(app, tenant, make_user, tenant_client):
    from tests.support.console import sign_in

    admin_user = make_user(tenant, "root@example.com", roles=("admin",))
    member = make_user(tenant, "max@example.com")
    _enrol(app, tenant, member)
    admin = tenant_client(tenant)
    sign_in(app, admin, tenant, admin_user)
    response = admin.submit(
        f"/admin/users/{member.id}/mfa/reset", {}, form_path=f"/admin/users/{member.id}"
    )
    assert response.status_code == 302
    assert _factors(app, tenant, member) == 0
