"""An organization's OIDC connection, end to end: Gatehouse's tenant ``upstream`` is the
organization's identity provider, on a live server (path routing), as in the upstream
provider tests; a ``requests.Session`` plays the browser."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.models import BrowserSession
from app.models import User
from tests.support.live import LiveServer
from tests.support.upstream import follow
from tests.support.upstream import register_client
from tests.support.upstream import submit_login


@pytest.fixture
def server(app, make_app):
    live = LiveServer(lambda **kw: make_app(**kw, TENANT_ROUTING="path")).start()
    yield live
    live.stop()


@pytest.fixture
def world(server):
    from app.services import connections
    from app.services import org_domains
    from app.services import orgs
    from app.services import roles
    from app.services import tenants
    from app.services import users

    base = f"http://localhost:{server.port}"
    with server.app.app_context():
        acme = tenants.create_tenant("Acme Corp", "acme-corp")
        idp = tenants.create_tenant("Upstream", "upstream")
        roles.ensure_builtin_roles(acme)
        org = orgs.create_org(acme, "Corp", "corp")
        domain = org_domains.add_domain(acme, org, "corp.example")
        org_domains.verify_domain(acme, domain, operator=True)
        connection = connections.create_connection(
            acme,
            org,
            {
                "kind": "oidc",
                "name": "Corp IdP",
                "discovery_url": f"{base}/t/upstream/.well-known/openid-configuration",
                "client_id": "pending",
                "client_secret": "pending",
                "domains": ["corp.example"],
            },
        )
        callback = f"{base}/t/acme-corp/sso/oidc/{connection.id}/callback"
        client_id, secret = register_client(idp, callback)
        connections.update_connection(
            acme, org, connection, {"client_id": client_id, "client_secret": secret}
        )
        for email in ("grace@corp.example", "mallory@evil.example"):
            users.create_user(
                idp,
                email,
                name="Someone",
                password="correct horse battery staple",
                email_verified=True,
            )
        db.session.commit()
        return {
            "base": base,
            "acme": acme,
            "org_id": org.id,
            "connection_id": connection.id,
            "callback": callback,
        }


def sign_in_through(world, browser, email):
    """From acme's identifier-first login page to the IdP and back: the final answer."""
    acme = world["base"] + "/t/acme-corp"
    page = browser.get(acme + "/login", timeout=30)
    assert 'name="password"' not in page.text  # identifier first: acme has a connection
    routed = submit_login(browser, page, email, password=None)
    assert routed.status_code == 302, routed.text[:500]
    idp_page, _ = follow(browser, urljoin(page.url, routed.headers["Location"]))
    assert "/t/upstream/login" in idp_page.url, idp_page.text[:300]
    posted = submit_login(browser, idp_page, email)
    _, callback = follow(
        browser,
        urljoin(idp_page.url, posted.headers["Location"]),
        stop=lambda u: u.startswith(world["callback"]),
    )
    assert callback, "the IdP did not come back to the connection's callback"
    return browser.get(callback, allow_redirects=False, timeout=30)


def test_oidc_connection_signs_in_and_provisions(server, world):
    browser = requests.Session()
    done = sign_in_through(world, browser, "grace@corp.example")
    assert done.status_code == 302, done.text[:500]
    account = browser.get(world["base"] + "/t/acme-corp/account", timeout=30)
    assert account.status_code == 200 and "grace@corp.example" in account.text
    with server.app.app_context():
        from app.services import orgs

        user = db.session.scalar(select(User).where(User.tenant_id == world["acme"].id))
        assert user.email == "grace@corp.example"
        ((org, roles),) = orgs.orgs_of(db.session.merge(world["acme"]), user)
        assert org.id == world["org_id"] and roles == ["member"]
        session = db.session.scalar(select(BrowserSession).where(BrowserSession.user_id == user.id))
        assert session.amr == ["ext"] and session.idp == world["connection_id"]


def test_oidc_connection_cannot_speak_for_another_domain(server, world):
    browser = requests.Session()
    # Started directly at the connection (not through discovery), for an address elsewhere.
    start = world["base"] + f"/t/acme-corp/sso/oidc/{world['connection_id']}/login"
    idp_page, _ = follow(browser, start)
    posted = submit_login(browser, idp_page, "mallory@evil.example")
    _, callback = follow(
        browser,
        urljoin(idp_page.url, posted.headers["Location"]),
        stop=lambda u: u.startswith(world["callback"]),
    )
    refused = browser.get(callback, allow_redirects=False, timeout=30)
    assert refused.status_code == 403 and "cannot sign in addresses" in refused.text
    with server.app.app_context():
        assert db.session.scalar(select(User).where(User.tenant_id == world["acme"].id)) is None
