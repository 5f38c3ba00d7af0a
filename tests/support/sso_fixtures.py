"""Fixtures of the enterprise SSO tests: ``dns``, a real local DNS server, and ``app``
pointed at it (``DNS_RESOLVER``). A test module imports them by their function names
(``from tests.support.sso_fixtures import dns_app, local_dns  # noqa: F401``);
``@pytest.mark.config(...)`` still applies."""

from __future__ import annotations

import pytest

from app.extensions import db
from tests.support.dns import LocalDns


@pytest.fixture(name="dns")
def local_dns():
    server = LocalDns().start()
    yield server
    server.stop()


@pytest.fixture(name="app")
def dns_app(make_app, dns, request):
    from tests.conftest import _seed_system_tenant
    from tests.support.database import reset_rows

    marker = request.node.get_closest_marker("config")
    overrides = {"DNS_RESOLVER": dns.address, **(marker.kwargs if marker else {})}
    application = make_app(**overrides)
    with application.app_context():
        _seed_system_tenant()
        db.session.commit()
    yield application
    with application.app_context():
        reset_rows(db)
