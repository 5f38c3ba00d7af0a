"""Bulk user import: formats, foreign password hashes, idempotency, errors, isolation."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ImportJob
from app.models import LinkedIdentity
from app.models import User
from app.tenancy import scope
from tests.support.auth import audit_actions
from tests.support.auth import sign_in
from tests.support.imports import Importer
from tests.support.imports import argon2id_hash
from tests.support.imports import bcrypt_hash
from tests.support.imports import django_hash
from tests.support.imports import jsonl

PASSWORD = "imported-Pa55word-from-elsewhere"


@pytest.fixture
def importer(app, tenant):
    return Importer(app)


def _user(app, tenant, email):
    with app.app_context():
        user = scope(tenant).first(User, User.email == email)
        db.session.expunge_all()
        return user


HASHES = {
    "argon2id": lambda: argon2id_hash(PASSWORD),
    "bcrypt-2a": lambda: bcrypt_hash(PASSWORD, "2a"),
    "bcrypt-2b": lambda: bcrypt_hash(PASSWORD, "2b"),
    "bcrypt-2y": lambda: bcrypt_hash(PASSWORD, "2y"),
    "django": lambda: django_hash(PASSWORD),
}


@pytest.mark.parametrize("kind", sorted(HASHES))
def test_sign_in_with_each_imported_hash_then_it_is_argon2id(
    app, tenant, importer, tenant_client, kind
):
    stored = HASHES[kind]()
    response, job = importer.upload(
        "acme-corp", [{"email": "moved@example.com", "password_hash": stored}]
    )
    assert response.status_code == 202, job
    assert job["status"] == "done" and job["created"] == 1 and job["errors"] == []
    assert _user(app, tenant, "moved@example.com").password_hash == stored

    client = tenant_client(tenant)
    assert sign_in(client, "moved@example.com", "not-the-password").status_code == 401
    assert sign_in(client, "moved@example.com", PASSWORD).status_code == 302
    upgraded = _user(app, tenant, "moved@example.com").password_hash
    assert upgraded.startswith("$argon2id$") and upgraded != stored
    # And the upgraded hash keeps working.
    assert sign_in(tenant_client(tenant), "moved@example.com", PASSWORD).status_code == 302
    upgraded_events = audit_actions(app, tenant).count("password.upgraded")
    assert upgraded_events == (0 if kind == "argon2id" else 1)


def test_json_array_and_location_and_job_resource(app, tenant, importer):
    records = [{"email": f"user{i}@example.com", "name": f"User {i}"} for i in range(3)]
    response, job = importer.upload("acme-corp", records, lines=False)
    assert response.status_code == 202
    assert response.headers["Location"].endswith(f"/users/import/{job['id']}")
    again = importer.job("acme-corp", job["id"])
    assert again["status"] == "done"
    assert (again["processed"], again["created"], again["updated"]) == (3, 3, 0)


def test_everything_a_record_may_carry_and_reimport_changes_nothing(app, tenant, importer):
    from app.services import orgs
    from app.services import providers

    with app.app_context():
        t = db.session.merge(tenant)
        orgs.create_org(t, "Engineering", "eng")
        providers.create_provider(
            t, {"kind": "github", "client_id": "gh-client", "client_secret": "s3cret"}
        )
        db.session.commit()
    record = {
        "email": "Grace@Example.com",
        "name": "Grace Hopper",
        "email_verified": True,
        "external_id": "legacy-42",
        "metadata": {"plan": "pro", "seats": 5},
        "roles": ["admin", "member"],
        "organizations": [{"org": "eng", "roles": ["owner"]}],
        "identities": [{"provider": "github", "subject": "1234", "email": "grace@gh.example"}],
        "password_hash": bcrypt_hash(PASSWORD),
    }
    _, first = importer.upload("acme-corp", [record])
    assert (first["created"], first["updated"], first["errors"]) == (1, 0, [])
    _, second = importer.upload("acme-corp", [record])
    assert (second["processed"], second["created"], second["updated"]) == (1, 0, 0)

    with app.app_context():
        user = scope(tenant).first(User, User.external_id == "legacy-42")
        t = db.session.merge(tenant)
        from app.services import roles as roles_service

        assert user.email == "grace@example.com" and user.email_verified
        assert user.user_metadata == {"plan": "pro", "seats": 5}
        assert roles_service.tenant_role_names(t, user) == ["admin", "member"]
        assert [(o.slug, r) for o, r in orgs.orgs_of(t, user)] == [("eng", ["owner"])]
        linked = db.session.scalars(select(LinkedIdentity)).all()
        assert [(i.subject, i.user_id) for i in linked] == [("1234", user.id)]

    # A changed name updates the same user (keyed by external_id, even with a new email).
    _, third = importer.upload(
        "acme-corp", [{**record, "email": "grace.h@example.com", "name": "Rear Admiral"}]
    )
    assert (third["created"], third["updated"]) == (0, 1)
    assert _user(app, tenant, "grace.h@example.com").name == "Rear Admiral"


def test_bad_lines_are_reported_and_the_job_goes_on(app, tenant, importer):
    body = b"\n".join(
        [
            b'{"email": "ok1@example.com"}',
            b"{not json",
            b'{"email": "not-an-email"}',
            b'{"email": "h@example.com", "password_hash": "$2b$10$short"}',
            b'{"email": "h2@example.com", "password_hash": "md5$abc$def"}',
            b'{"email": "m@example.com", "metadata": "x"}',
            b'{"email": "big@example.com", "metadata": {"k": "' + b"x" * 17000 + b'"}}',
            b'{"email": "r@example.com", "roles": ["emperor"]}',
            b'{"email": "o@example.com", "organizations": [{"org": "nope"}]}',
            b'{"email": "u@example.com", "favourite_colour": "blue"}',
            b"[1, 2]",
            b'{"email": "ok2@example.com"}',
        ]
    )
    response, job = importer.upload("acme-corp", body)
    assert response.status_code == 202
    assert job["status"] == "done"
    assert (job["processed"], job["created"], job["error_count"]) == (12, 2, 10)
    lines = {e["line"]: e["error"] for e in job["errors"]}
    assert sorted(lines) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert "malformed JSON" in lines[2]
    assert lines[3].startswith("email:")
    assert "bcrypt" in lines[4] and "unsupported password_hash" in lines[5]
    assert "16384 bytes" in lines[7] and "emperor" in lines[8] and "favourite_colour" in lines[10]
    assert _user(app, tenant, "r@example.com") is None  # nothing of a bad record stays


def test_a_broken_json_array_fails_the_job_with_its_position(app, tenant, importer):
    response, job = importer.upload(
        "acme-corp", b'[{"email": "a@example.com"}, {"email": ', lines=False
    )
    assert response.status_code == 202
    assert job["status"] == "failed" and job["created"] == 1
    assert job["errors"][-1]["line"] == 2


@pytest.mark.parametrize(
    ("body", "mimetype", "status"),
    [
        (b'{"email": "a@example.com"}', "application/json", 400),
        (b"", "application/json", 400),
        (b"[1]", "text/csv", 415),
        (b"[]", "application/x-ndjson", 400),
    ],
)
def test_unusable_uploads_are_problems_not_500s(app, tenant, importer, body, mimetype, status):
    response = importer.api.post(
        "/tenants/acme-corp/users/import", data=body, headers={"Content-Type": mimetype}
    )
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"


def test_an_import_into_a_touches_nothing_of_b(app, tenant, other_tenant, make_user):
    make_user(other_tenant, "shared@example.com", name="Globex Person")
    tenant_key_importer = Importer(app, tenant)
    _, job = tenant_key_importer.upload(
        "acme-corp",
        [{"email": "shared@example.com", "name": "Acme Person", "external_id": "x1"}],
    )
    assert job["created"] == 1
    assert _user(app, other_tenant, "shared@example.com").name == "Globex Person"
    assert _user(app, other_tenant, "shared@example.com").external_id is None
    # B's job is invisible to A's key, and A's key cannot import into B.
    response, _ = tenant_key_importer.upload("globex", [{"email": "x@example.com"}])
    assert response.status_code == 404
    assert (
        tenant_key_importer.api.get(f"/tenants/globex/users/import/{job['id']}").status_code == 404
    )
    with app.app_context():
        assert scope(other_tenant).count(ImportJob) == 0
    # B's organization and provider ids name nothing in A.
    from app.services import orgs
    from app.services import providers

    with app.app_context():
        b = db.session.merge(other_tenant)
        b_org = orgs.create_org(b, "Globex Eng", "globex-eng")
        b_idp = providers.create_provider(
            b, {"kind": "github", "client_id": "b", "client_secret": "s"}
        )
        db.session.commit()
        b_org_id, b_idp_id = b_org.id, b_idp.id
    _, job = tenant_key_importer.upload(
        "acme-corp",
        [
            {"email": "o@example.com", "organizations": [{"org": b_org_id}]},
            {"email": "i@example.com", "identities": [{"provider": b_idp_id, "subject": "1"}]},
        ],
    )
    assert [e["line"] for e in job["errors"]] == [1, 2] and job["created"] == 0


@pytest.mark.config(IMPORT_INLINE_BYTES=0)
def test_a_large_upload_runs_in_the_background_on_postgresql(app, tenant, importer):
    import time

    from tests.support.database import is_postgres

    records = [{"email": f"bg{i}@example.com"} for i in range(700)]
    response, job = importer.upload("acme-corp", jsonl(records))
    assert response.status_code == 202
    # SQLite has a single writer, so there the job runs inside the request.
    assert job["status"] in (("queued", "running", "done") if is_postgres() else ("done",))
    for _ in range(200):
        job = importer.job("acme-corp", job["id"])
        if job["status"] == "done":
            break
        time.sleep(0.05)
    assert (job["status"], job["processed"], job["created"]) == ("done", 700, 700), job


def test_metadata_through_the_admin_api(app, tenant, user):
    from tests.support.api import Api
    from tests.support.api import create_admin_key

    api = Api(app, create_admin_key(app, tenant))
    path = f"/tenants/acme-corp/users/{user.id}"
    response = api.patch(path, json={"metadata": {"plan": "pro"}, "external_id": "crm-1"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["metadata"] == {"plan": "pro"}
    assert response.get_json()["external_id"] == "crm-1"
    too_big = api.patch(path, json={"metadata": {"k": "x" * 17000}}).get_json()
    assert too_big["status"] == 400 and "metadata" in too_big["errors"]
    not_object = api.patch(path, json={"metadata": [1]}).get_json()
    assert not_object["status"] == 400
    created = api.post(
        "/tenants/acme-corp/users",
        json={"email": "m@example.com", "metadata": {"a": 1}, "external_id": "crm-1"},
    )
    assert created.status_code == 409  # external_id is unique in the tenant


def test_names_follow_the_shared_rule(app, tenant, importer):
    _, job = importer.upload(
        "acme-corp",
        [
            {"email": "rtl@example.com", "name": "evil\u202etxt.exe"},
            {"email": "n@example.com", "name": "  Cafe\u0301 "},
        ],
    )
    assert job["created"] == 1 and job["errors"][0]["line"] == 1
    assert "text-direction" in job["errors"][0]["error"]
    assert _user(app, tenant, "n@example.com").name == "Caf\u00e9"
