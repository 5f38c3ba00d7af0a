"""Migration 0008 (quotas and usage): tenants at the previous head keep working with no
quotas (unlimited); the quotas column and the daily usage table work; it downgrades."""

from datetime import date

from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import text

from app.extensions import db
from tests.support.migrations import app_at
from tests.support.migrations import revision_script


def test_0008_adds_quotas_and_daily_usage_to_existing_tenants(tmp_path):
    revision = revision_script("0008_tenant_quotas_usage.py")
    with app_at(tmp_path, revision.down_revision):
        db.session.execute(
            text(
                "INSERT INTO tenants (id, slug, name, status, settings, config_version, "
                "created_at) VALUES ('ten_01OLD', 'old-shop', 'Old Shop', 'active', '{}', "
                "0, CURRENT_TIMESTAMP)"
            )
        )
        db.session.execute(
            text(
                "INSERT INTO users (id, tenant_id, email, name, email_verified, status, "
                "failed_logins, metadata, created_at) VALUES ('usr_01OLD', 'ten_01OLD', "
                "'old@example.com', 'Old', :no, 'active', 0, '{}', CURRENT_TIMESTAMP)"
            ),
            {"no": False},
        )
        db.session.commit()
        upgrade(revision="0008")
        assert db.session.execute(
            text("SELECT slug, quotas FROM tenants WHERE id = 'ten_01OLD'")
        ).one() == ("old-shop", None)
        db.session.commit()
        # The models are today's: use them at the head (later revisions add columns).
        db.session.remove()
        upgrade()

        from app.models import DailyUsage
        from app.models import Tenant
        from app.services import usage
        from app.services.tenants import set_quotas

        tenant = db.session.get(Tenant, "ten_01OLD")
        assert tenant.quotas is None  # unlimited
        set_quotas(tenant, {"max_users": 3})
        db.session.add(
            DailyUsage(tenant_id=tenant.id, day=date(2026, 1, 2), metric="sign_ins", value=4)
        )
        db.session.commit()
        db.session.expunge_all()
        assert db.session.get(Tenant, "ten_01OLD").quotas == {"max_users": 3}
        days = usage.daily("ten_01OLD", date(2026, 1, 1), date(2026, 1, 2))
        assert [d["sign_ins"] for d in days] == [0, 4]
        db.session.remove()
        downgrade(revision=revision.down_revision)
        assert db.session.execute(text("SELECT slug FROM tenants WHERE id = 'ten_01OLD'")).one()
        # The tenants table is altered in place, never recreated: its rows' children stay.
        assert db.session.execute(text("SELECT email FROM users")).scalar_one() == (
            "old@example.com"
        )
        db.session.remove()
        db.engine.dispose()
