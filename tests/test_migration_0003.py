"""Migration 0003 (tenant configuration version): built at its down_revision with rows in
it, upgraded, the rows survive and the version is bumped by a configuration change."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import text

from app.extensions import db
from tests.support.migrations import app_at
from tests.support.migrations import revision_script


def test_upgrade_keeps_tenants_and_adds_a_working_version(tmp_path):
    revision = revision_script("0003_tenant_config_version.py")
    with app_at(tmp_path, revision.down_revision):
        db.session.execute(
            text(
                "INSERT INTO tenants (id, slug, name, status, settings, created_at) VALUES "
                "('ten_01MIGRATION0000000000000A', 'acme-corp', 'Acme', 'suspended', "
                '\'{"mfa_policy": "required"}\', CURRENT_TIMESTAMP)'
            )
        )
        db.session.commit()
        upgrade(revision=revision.revision)

        row = db.session.execute(
            text(
                "SELECT slug, status, settings, config_version, config_changed_at "
                "FROM tenants WHERE id = 'ten_01MIGRATION0000000000000A'"
            )
        ).one()
        assert row[:2] == ("acme-corp", "suspended")
        assert "required" in str(row[2])
        assert row[3] == 0 and row[4] is None
        db.session.rollback()

        # The services write through today's models (later revisions add tables the
        # change also touches, e.g. the events outbox): go on to the head first.
        upgrade(revision="head")
        from app.models import Tenant
        from app.services import tenants

        tenant = db.session.get(Tenant, "ten_01MIGRATION0000000000000A")
        tenants.set_status(tenant, "active")
        db.session.commit()
        version, changed = db.session.execute(
            text(
                "SELECT config_version, config_changed_at FROM tenants "
                "WHERE id = 'ten_01MIGRATION0000000000000A'"
            )
        ).one()
        assert version == 1 and changed is not None
        db.session.remove()
        db.engine.dispose()
