"""The hot reads' kept connection (app/db_session.read_rows) and the lean layer's output
(app/oauth/lean.py), through the HTTP surface: userinfo and introspection check no
connection out of the pool per request, a dead kept connection is replaced, threads
keep at most pool_size connections, a disposed engine gets its connections back; the
lean path's headers appear once each and its JSON log line keeps its fields."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import threading

import pytest
from sqlalchemy import event

from tests.support.database import end_other_sessions
from tests.support.oauth import basic_auth
from tests.support.oauth import bearer
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import sign_in

pytestmark = pytest.mark.config(TENANT_SYNC_INTERVAL=3600)


@contextlib.contextmanager
def checkouts(app):
    """Connections checked out of the app's pool inside the block."""
    from app.extensions import db

    seen: list[int] = []

    def checkout(*_args):
        seen.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "checkout", checkout)
    try:
        yield seen
    finally:
        event.remove(engine, "checkout", checkout)


def _tokens(app, tenant, user, tenant_client):
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    rp = make_client(app, tenant)
    return tc, rp, login_tokens(tc, rp)


def test_userinfo_and_introspection_keep_one_connection(app, tenant, user, tenant_client):
    tc, rp, tokens = _tokens(app, tenant, user, tenant_client)
    access = tokens["access_token"]
    assert tc.get("/oauth2/userinfo", headers=bearer(access)).status_code == 200  # keeps one
    introspect = {"data": {"token": access}, "headers": basic_auth(rp.client_id, rp.secret)}
    assert tc.post("/oauth2/introspect", **introspect).status_code == 200  # reads the client

    with checkouts(app) as seen:
        for _ in range(3):
            answer = tc.get("/oauth2/userinfo", headers=bearer(access))
            assert answer.status_code == 200 and answer.get_json()["sub"] == user.id
            introspected = tc.post("/oauth2/introspect", **introspect)
            assert introspected.get_json()["active"] is True
    assert seen == []


def test_the_kept_connection_sees_revocations_at_once(app, tenant, user, tenant_client):
    tc, rp, tokens = _tokens(app, tenant, user, tenant_client)
    access = tokens["access_token"]
    assert tc.get("/oauth2/userinfo", headers=bearer(access)).status_code == 200
    tc.post(
        "/oauth2/revoke",
        data={"token": access, "token_type_hint": "access_token"},
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert tc.get("/oauth2/userinfo", headers=bearer(access)).status_code == 401


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL (pg_terminate_backend)",
)
def test_a_dead_kept_connection_is_replaced(app, tenant, user, tenant_client):

    tc, rp, tokens = _tokens(app, tenant, user, tenant_client)
    access = tokens["access_token"]
    assert tc.get("/oauth2/userinfo", headers=bearer(access)).status_code == 200

    assert end_other_sessions(app.config["SQLALCHEMY_DATABASE_URI"]) >= 1

    with checkouts(app) as seen:
        for _ in range(3):  # the first one replaces the kept connection and retries
            answer = tc.get("/oauth2/userinfo", headers=bearer(access))
            assert answer.status_code == 200, answer.data
    assert len(seen) == 1  # one new connection, kept again


@pytest.mark.config(
    TENANT_SYNC_INTERVAL=3600, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 2, "max_overflow": 10}
)
def test_threads_keep_at_most_pool_size_connections(app, tenant, user, tenant_client):
    from app import db_session
    from app.extensions import db

    tc, _rp, tokens = _tokens(app, tenant, user, tenant_client)
    access = tokens["access_token"]
    with app.app_context():
        pool = db.engine.pool
    # The sign-in's code exchange read its code on a connection this thread keeps: give
    # it back, so that the three threads below start from none kept.
    db_session.release_kept_connections()
    assert pool.checkedout() == 0
    served, done = threading.Barrier(4), threading.Event()
    answers = []

    def serve():
        answers.append(tc.get("/oauth2/userinfo", headers=bearer(access)).status_code)
        served.wait(timeout=30)
        done.wait(timeout=30)

    threads = [threading.Thread(target=serve) for _ in range(3)]
    for thread in threads:
        thread.start()
    served.wait(timeout=30)
    try:
        assert answers == [200, 200, 200]  # the third thread checked one out for its read
        assert pool.checkedout() == 2  # two kept, by two of the three threads
    finally:
        done.set()
        for thread in threads:
            thread.join()
    # The threads have ended: the next thread to keep one gives theirs back.
    assert tc.get("/oauth2/userinfo", headers=bearer(access)).status_code == 200
    assert pool.checkedout() == 1


def test_a_disposed_engine_closes_its_kept_connections(app, tenant, user, tenant_client):
    from app import db_session
    from app.extensions import db

    tc, _rp, tokens = _tokens(app, tenant, user, tenant_client)
    access = tokens["access_token"]
    assert tc.get("/oauth2/userinfo", headers=bearer(access)).status_code == 200
    with app.app_context():
        engine = db.engine
    (kept,) = [k for k in db_session._all.values() if k.engine is engine]
    connection = kept.dbapi
    connection.cursor().close()  # open
    with app.app_context():
        db.engine.dispose()
    assert not [k for k in db_session._all.values() if k.engine is engine]
    with pytest.raises(Exception):  # noqa: B017 - closed: psycopg and sqlite3 differ
        connection.cursor()
    assert tc.get("/oauth2/userinfo", headers=bearer(access)).status_code == 200


def _header_names(response) -> list[str]:
    return [name.lower() for name, _ in response.headers]


def test_lean_headers_appear_once(app, tenant, user, tenant_client):
    tc, _rp, tokens = _tokens(app, tenant, user, tenant_client)
    answer = tc.get(
        "/oauth2/userinfo", headers={**bearer(tokens["access_token"]), "X-Request-Id": "abc-1"}
    )
    names = _header_names(answer)
    for name in ("x-content-type-options", "referrer-policy", "x-request-id", "vary"):
        assert names.count(name) == 1, (name, names)
    assert answer.headers["X-Request-Id"] == "abc-1"
    assert answer.headers["Vary"] == "Origin"
    assert answer.headers["Cache-Control"] == "no-store"
    assert int(answer.headers["Content-Length"]) == len(answer.data)

    discovery = tc.get("/.well-known/openid-configuration")
    names = _header_names(discovery)
    assert names.count("access-control-allow-origin") == 1 and "vary" not in names
    assert discovery.headers["X-Content-Type-Options"] == "nosniff"
    head = tc.open("HEAD", "/.well-known/openid-configuration")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == discovery.headers["Content-Length"]
    again = tc.get(
        "/.well-known/openid-configuration", headers={"If-None-Match": discovery.headers["ETag"]}
    )
    assert again.status_code == 304 and again.headers["X-Request-Id"]


@contextlib.contextmanager
def request_lines():
    """The JSON request lines, formatted as in production."""
    from app.web.hooks import JsonFormatter
    from app.web.hooks import RequestContextFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("gatehouse.request")
    logger.addHandler(handler)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


def test_each_lean_request_logs_one_json_line_with_its_fields(app, tenant, user, tenant_client):
    tc, rp, tokens = _tokens(app, tenant, user, tenant_client)
    with request_lines() as lines:
        answer = tc.get("/oauth2/userinfo?probe=1", headers=bearer(tokens["access_token"]))
        refused = tc.post(
            "/oauth2/introspect", data={"token": "x"}, headers=basic_auth(rp.client_id, "wrong")
        )
        page = tc.get("/login")  # the Flask path's line: the same fields
    assert [line["path"] for line in lines] == [
        "/oauth2/userinfo?probe=1",
        "/oauth2/introspect",
        "/login",
    ]
    fields = {"ts", "level", "logger", "msg", "request_id", "tenant_id", "method", "status", "ms"}
    for line, response in zip(lines, (answer, refused, page), strict=True):
        assert fields <= line.keys(), line
        assert line["request_id"] == response.headers["X-Request-Id"]
        assert line["tenant_id"] == tenant.id
        assert line["status"] == response.status_code
        assert line["logger"] == "gatehouse.request" and line["level"] == "info"
    assert lines[0]["msg"] == "GET /oauth2/userinfo 200" and lines[0]["method"] == "GET"
    assert lines[1]["status"] == 401 and lines[1]["method"] == "POST"


def test_the_lean_paths_direct_line_is_the_line_logging_writes(
    app, tenant, user, tenant_client, monkeypatch
):
    """With logging as configured (one JSON StreamHandler on ``gatehouse``), a lean request's
    line is written straight to the handler's stream (app/web/hooks.log_request); it is
    the same line a LogRecord would have produced through logging."""
    from app.web import hooks
    from app.web.hooks import JsonFormatter

    written = []
    write_line = hooks._write_line
    monkeypatch.setattr(
        hooks, "_write_line", lambda *args: written.append(args[1]) or write_line(*args)
    )
    tc, rp, tokens = _tokens(app, tenant, user, tenant_client)
    handler = next(
        h for h in logging.getLogger("gatehouse").handlers if isinstance(h.formatter, JsonFormatter)
    )
    # As in production: that handler alone (pytest adds its capture handlers beside it).
    monkeypatch.setattr(logging.getLogger("gatehouse"), "handlers", [handler])
    logger = logging.getLogger("gatehouse.request")

    def lines_of(force_record: bool) -> list[dict]:
        stream = io.StringIO()
        previous = handler.setStream(stream)
        through_logging = logging.Filter()  # any filter on the logger: logging's own way
        if force_record:
            logger.addFilter(through_logging)
        try:
            tc.get("/oauth2/userinfo?probe=1", headers=bearer(tokens["access_token"]))
            tc.post(
                "/oauth2/introspect", data={"token": "x"}, headers=basic_auth(rp.client_id, "bad")
            )
        finally:
            logger.removeFilter(through_logging)
            handler.setStream(previous)
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    written.clear()
    direct = lines_of(False)
    assert written == ["GET", "POST"]  # both went the direct way
    recorded = lines_of(True)
    assert written == ["GET", "POST"]  # and these through logging
    assert len(direct) == len(recorded) == 2
    varying = {"ts", "ms", "request_id"}
    for a, b in zip(direct, recorded, strict=True):
        assert list(a) == list(b)  # the same fields, in the same order
        assert {k: v for k, v in a.items() if k not in varying} == {
            k: v for k, v in b.items() if k not in varying
        }
    assert direct[0]["msg"] == "GET /oauth2/userinfo 200"
    assert direct[0]["path"] == "/oauth2/userinfo?probe=1"
