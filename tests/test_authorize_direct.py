"""The signed-in plain code request answered without Authlib's machinery
(app/oauth/authorize_direct.py) gives the full path's answer and stores the same code;
every other request, and every one that fails, still gets the full path's answer."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuthorizationCode
from app.models import BrowserSession
from app.oauth import authorize_direct
from app.oauth.server import authorization
from tests.support.oauth import authorize
from tests.support.oauth import exchange
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import query_of
from tests.support.oauth import sign_in

# Differ per request whichever path answers.
_PER_REQUEST_HEADERS = {"x-request-id", "content-security-policy", "set-cookie"}
# A code row's columns that differ per code.
_PER_CODE = {"id", "code_digest", "created_at", "expires_at"}


@pytest.fixture
def signed_in(app, tenant, user, tenant_client):
    tc = tenant_client(tenant)
    tc.session_id = sign_in(app, tc, tenant, user)
    return tc


class Paths:
    """Which path answers: ``full()`` turns the direct one off; the direct path's answers
    are counted (and Authlib's validation is counted, to prove it was not asked)."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.direct = 0
        self.authlib = 0
        respond, consent_grant = authorize_direct.respond, authorization.get_consent_grant

        def counted_respond(tenant):
            answer = respond(tenant)
            self.direct += answer is not None
            return answer

        def counted_consent_grant(*args, **kwargs):
            self.authlib += 1
            return consent_grant(*args, **kwargs)

        monkeypatch.setattr(authorize_direct, "respond", counted_respond)
        monkeypatch.setattr(authorization, "get_consent_grant", counted_consent_grant)

    def full(self):
        self.monkeypatch.setattr(authorize_direct, "respond", lambda tenant: None)


@pytest.fixture
def paths(monkeypatch):
    return Paths(monkeypatch)


def _code_row(app, code_value):
    from app.security.tokens import digest

    with app.app_context():
        row = db.session.scalar(
            select(AuthorizationCode).where(AuthorizationCode.code_digest == digest(code_value))
        )
        return {c.key: getattr(row, c.key) for c in AuthorizationCode.__table__.columns}


def _comparable(app, response):
    """Status, headers, body and the stored code, without what differs per code/request."""
    headers = {
        k.lower(): v for k, v in response.headers.items() if k.lower() not in _PER_REQUEST_HEADERS
    }
    location = headers.pop("location", None)
    code = None
    if location is not None:
        parts = urlsplit(location)
        query = parse_qsl(parts.query, keep_blank_values=True)
        code = dict(query).get("code")
        query = [(k, "<code>" if k == "code" else v) for k, v in query]
        location = (parts.scheme, parts.netloc, parts.path, query, parts.fragment)
    row = None
    if code is not None:
        row = {k: v for k, v in _code_row(app, code).items() if k not in _PER_CODE}
    return response.status_code, headers, location, response.get_data(), row


def _both(app, tc, rp, paths, **params):
    """The same request answered by the direct path, then by the full path."""
    params = {"state": "st-1", "nonce": "n-1", "verifier_challenge": pkce_pair()[1], **params}
    direct = authorize(tc, rp, **params)
    assert paths.direct == 1 and paths.authlib == 0, "the direct path did not answer"
    paths.full()
    full = authorize(tc, rp, **params)
    assert paths.authlib == 1
    return _comparable(app, direct), _comparable(app, full)


@pytest.mark.parametrize(
    "params",
    [
        {"state": "xyz", "nonce": "n-1"},
        {"state": None, "nonce": None},  # no state: none in the answer
        {"state": "a b&c=d/é", "nonce": "ñ"},  # quoted in the Location as Authlib quotes it
        {"scope": "openid email unknown offline_access"},  # unregistered scope dropped
        {"scope": None},
        {"response_mode": "query"},
    ],
)
def test_the_direct_answer_is_the_full_paths(app, tenant, signed_in, paths, params):
    rp = make_client(app, tenant)
    direct, full = _both(app, signed_in, rp, paths, **params)
    assert direct == full
    status, _headers, (scheme, netloc, path, query, _f), _body, row = direct
    assert status == 302 and (scheme, netloc, path) == ("https", "app.example.com", "/callback")
    names = [k for k, _v in query]
    assert names == ["code", "state", "iss"] if params.get("state") else ["code", "iss"]
    assert dict(query)["iss"] == f"http://{signed_in.host}"
    assert row["session_id"] == signed_in.session_id and row["used_at"] is None


@pytest.mark.parametrize(
    "registered",
    [
        "https://app.example.com/cb?tenant=a&x=1",  # a registered query is kept first
        "https://app.example.com/cb?flag",
        "https://app.example.com/cb?q=a+b%20c&e=%C3%A9",
        "https://app.example.com/a;p/cb",
        "http://127.0.0.1/cb",  # a native app's loopback URI, any port (RFC 8252 §7.3)
    ],
)
def test_registered_redirect_uris_get_the_same_location(app, tenant, signed_in, paths, registered):
    public = registered.startswith("http://127.0.0.1")
    extra = {"token_endpoint_auth_method": "none"} if public else {}
    rp = make_client(app, tenant, redirect_uris=[registered], **extra)
    presented = "http://127.0.0.1:53127/cb" if public else registered
    direct, full = _both(app, signed_in, rp, paths, redirect_uri=presented)
    assert direct == full
    kept = parse_qsl(urlsplit(presented).query, keep_blank_values=True)
    assert direct[2][3][: len(kept)] == kept  # the registered query first, then ours


def test_a_direct_code_is_exchanged_once(app, tenant, signed_in, paths):
    rp = make_client(app, tenant)
    verifier, challenge = pkce_pair()
    response = authorize(signed_in, rp, verifier_challenge=challenge)
    assert paths.direct == 1
    code = query_of(response)["code"]
    first = exchange(signed_in, rp, code, verifier)
    assert first.status_code == 200, first.get_json()
    again = exchange(signed_in, rp, code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"


def test_a_direct_code_needs_its_verifier_and_its_redirect_uri(app, tenant, signed_in, paths):
    rp = make_client(app, tenant)
    verifier, challenge = pkce_pair()
    code = query_of(authorize(signed_in, rp, verifier_challenge=challenge))["code"]
    wrong = exchange(signed_in, rp, code, pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    code = query_of(authorize(signed_in, rp, verifier_challenge=challenge))["code"]
    elsewhere = exchange(signed_in, rp, code, verifier, redirect_uri="https://app.example.com/x")
    assert elsewhere.status_code == 400 and elsewhere.get_json()["error"] == "invalid_grant"
    assert paths.direct == 2


# --- what the direct path leaves to the full path -------------------------------------


def _answered_by_full_path(app, tc, rp, paths, *, compare=True, **params):
    """The request is not the direct path's, and (``compare``: for a request that changes
    nothing) its answer is what the full path gives with the direct path switched off."""
    params = {"state": "st-1", "nonce": "n-1", **params}
    if "verifier_challenge" not in params and "code_challenge" not in params:
        params["verifier_challenge"] = pkce_pair()[1]
    answer = authorize(tc, rp, **params)
    assert paths.direct == 0 and paths.authlib == 1, "the full path did not answer"
    if not compare:
        return answer
    paths.full()
    again = authorize(tc, rp, **params)
    first, second = _comparable(app, answer), _comparable(app, again)
    assert first[:3] == second[:3]
    return answer


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        "https://app.example.com/callback/",
        "https://app.example.com/callback?x=1",
        "https://app.example.com/callbac",
        "https://APP.example.com/callback",
    ],
)
def test_an_unregistered_redirect_uri_is_never_redirected_to(
    app, tenant, signed_in, paths, redirect_uri
):
    """RFC 6749 §4.1.2.1: an invalid redirect URI gets the error page, not a redirect."""
    rp = make_client(app, tenant)
    answer = _answered_by_full_path(app, signed_in, rp, paths, redirect_uri=redirect_uri)
    assert answer.status_code == 400 and "Location" not in answer.headers


def test_an_unknown_client_is_never_redirected_to(app, tenant, signed_in, paths):
    rp = make_client(app, tenant)
    rp.client_id = "cli_unknown"
    answer = _answered_by_full_path(app, signed_in, rp, paths)
    assert answer.status_code == 400 and "Location" not in answer.headers


@pytest.mark.parametrize(
    "params, error",
    [
        ({"verifier_challenge": False}, "invalid_request"),  # PKCE required (public client)
        ({"code_challenge_method": "plain", "code_challenge": "x" * 43}, "invalid_request"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
    ],
)
def test_errors_are_the_full_paths_with_state_and_iss(app, tenant, signed_in, paths, params, error):
    """RFC 6749 §4.1.2.1: errors for a valid client and redirect URI go back to it, with
    ``state`` and ``iss`` (RFC 9207)."""
    rp = make_client(app, tenant, token_endpoint_auth_method="none")
    answer = _answered_by_full_path(app, signed_in, rp, paths, state="s-1", **params)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    query = query_of(answer)
    assert query["error"] == error and query["state"] == "s-1" and "iss" in query
    assert "code" not in query


def _plain_request(rp, **extra) -> dict:
    """A plain code request's parameters (PKCE S256), sent by hand."""
    return {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid",
        "code_challenge": pkce_pair()[1],
        "code_challenge_method": "S256",
        **extra,
    }


def test_a_repeated_parameter_is_the_full_paths_error(app, tenant, signed_in, paths):
    rp = make_client(app, tenant)
    query = _plain_request(rp, state=["a", "b"])
    answer = signed_in.get("/oauth2/authorize", query_string=query)
    assert paths.direct == 0 and paths.authlib == 1
    # RFC 6749 §3.1: Authlib's error for a repeated parameter names no redirect URI.
    assert answer.status_code == 400 and "Location" not in answer.headers


@pytest.mark.parametrize(
    "params",
    [
        {"prompt": "login"},
        {"prompt": "consent"},
        {"max_age": "0"},
        {"login_hint": "someone@example.com"},
        {"acr_values": "urn:gatehouse:acr:mfa"},
        {"response_mode": "form_post"},
        {"claims": '{"id_token": {"email": null}}'},
    ],
)
def test_other_parameters_go_to_the_full_path(app, tenant, signed_in, paths, params):
    rp = make_client(app, tenant)
    answer = _answered_by_full_path(app, signed_in, rp, paths, compare=False, **params)
    if params.get("prompt") == "login" or "max_age" in params:  # sign in again, come back
        assert "/login?" in answer.headers["Location"]


def test_a_posted_request_goes_to_the_full_path(app, tenant, signed_in, paths):
    rp = make_client(app, tenant)
    answer = signed_in.post("/oauth2/authorize", data=_plain_request(rp))
    assert paths.direct == 0 and paths.authlib == 1
    assert answer.status_code == 302 and "code" in query_of(answer)


def test_consent_still_asked_then_remembered_consent_goes_direct(
    app, tenant, user, signed_in, paths
):
    """A third-party client: the consent page (full path), then — consent given — the
    direct path issues the codes."""
    rp = make_client(app, tenant, first_party=False)
    page = authorize(signed_in, rp)
    assert page.status_code == 200 and paths.authlib == 1 and paths.direct == 0
    from app.models import Client
    from app.services import consent
    from app.tenancy import scope

    with app.app_context():
        client_row = scope(tenant).get(Client, rp.client_id)
        consent.grant_consent(tenant, user, client_row, "openid profile email")
        db.session.commit()
    answer = authorize(signed_in, rp)
    assert paths.direct == 1 and answer.status_code == 302 and "code" in query_of(answer)
    wider = authorize(signed_in, rp, scope="openid profile email offline_access")
    assert wider.status_code == 200 and paths.direct == 1  # a new scope: asked again


def test_no_session_goes_to_login(app, tenant, tenant_client, paths):
    rp = make_client(app, tenant)
    answer = authorize(tenant_client(tenant), rp)
    assert paths.direct == 0 and answer.status_code == 302
    assert "/login?" in answer.headers["Location"]


def _session_row(app, session_id):
    with app.app_context():
        row = db.session.get(BrowserSession, session_id)
        return row.last_seen_at, row.ended_at


def test_an_idle_session_is_ended_by_the_full_path(app, tenant, signed_in, paths):
    rp = make_client(app, tenant)
    with app.app_context():
        row = db.session.get(BrowserSession, signed_in.session_id)
        row.last_seen_at = row.last_seen_at - timedelta(days=30)
        db.session.commit()
    answer = authorize(signed_in, rp)
    assert paths.direct == 0 and "/login?" in answer.headers["Location"]
    assert _session_row(app, signed_in.session_id)[1] is not None  # ended


def test_an_inactive_user_is_signed_out_by_the_full_path(app, tenant, user, signed_in, paths):
    rp = make_client(app, tenant)
    with app.app_context():
        from app.models import User

        db.session.get(User, user.id).status = "disabled"
        db.session.commit()
    answer = authorize(signed_in, rp)
    assert paths.direct == 0 and "/login?" in answer.headers["Location"]
    assert _session_row(app, signed_in.session_id)[1] is not None


def test_the_direct_path_touches_a_session_as_the_loader_does(app, tenant, signed_in, paths):
    """last_seen_at is written when it is more than TOUCH_INTERVAL old, not otherwise."""
    from app.services.sessions import TOUCH_INTERVAL

    rp = make_client(app, tenant)
    seen = _session_row(app, signed_in.session_id)[0]
    authorize(signed_in, rp)
    assert _session_row(app, signed_in.session_id)[0] == seen
    with app.app_context():
        row = db.session.get(BrowserSession, signed_in.session_id)
        row.last_seen_at = seen - TOUCH_INTERVAL * 2
        db.session.commit()
    authorize(signed_in, rp)
    assert paths.direct == 2
    assert _session_row(app, signed_in.session_id)[0] > seen


def test_a_session_of_another_tenant_is_not_read(app, tenant, other_tenant, user):
    """The row read filters by the tenant: the same cookie token finds nothing elsewhere."""
    from app.services import sessions

    with app.test_request_context():
        session, token = sessions.start_session(tenant, user, amr=["pwd"])
        db.session.commit()
        row, person = sessions.read_signed_in(tenant, token)
        assert (row.id, row.user_id, person.id, person.is_active) == (
            session.id,
            user.id,
            user.id,
            True,
        )
        assert sessions.read_signed_in(other_tenant, token) is None
        assert sessions.read_signed_in(tenant, token + "x") is None
        assert sessions.read_signed_in(tenant, "x" * 201) is None


@pytest.mark.config(TENANT_SYNC_INTERVAL=3600)  # no configuration poll inside the count
def test_a_due_touch_is_one_more_statement_in_the_transaction(app, tenant, signed_in, paths):
    """The session and its user in one read, the touch (when due) and the code's INSERT,
    one COMMIT; a session seen less than TOUCH_INTERVAL ago is not written."""
    from app.services.sessions import TOUCH_INTERVAL
    from tests.test_round_trips import round_trips

    rp = make_client(app, tenant)
    authorize(signed_in, rp)  # warm: the client and the statements
    with app.app_context():
        row = db.session.get(BrowserSession, signed_in.session_id)
        row.last_seen_at = row.last_seen_at - TOUCH_INTERVAL * 2
        db.session.commit()
    with round_trips(app) as seen:
        authorize(signed_in, rp)
    # (The test's own write above made the ORM connection serve no tenant: the
    # row-level-security setting is sent again first, app/rls.py.)
    seen = [s for s in seen if not s.startswith("SELECT set_config")]
    assert [s.split()[0] for s in seen] == ["SELECT", "UPDATE", "INSERT", "COMMIT"], seen
    assert seen[0].startswith("SELECT browser_sessions.id") and "users" in seen[0]
    assert seen[1].startswith("UPDATE browser_sessions SET last_seen_at"), seen
    with round_trips(app) as seen:
        authorize(signed_in, rp)
    assert [s.split()[0] for s in seen] == ["SELECT", "INSERT", "COMMIT"], seen
    assert paths.direct == 3
