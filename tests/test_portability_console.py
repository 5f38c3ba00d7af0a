"""Console: upload an import file, watch its progress (HTMX), download the error report;
download the tenant export and a user's data; edit a user's metadata."""

import io
import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.support.console import console_fixtures

make_console = console_fixtures()


@pytest.fixture
def admin(tenant, make_console):
    return make_console(tenant, "boss@acme.example")


def _upload(admin, body: bytes, name="users.jsonl"):
    token = admin.csrf_token("/admin/users/import")
    return admin.post(
        "/admin/users/import",
        data={"csrf_token": token, "file": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
    )


def test_upload_progress_and_error_report(app, admin, other_tenant):
    body = b'{"email": "one@acme.example"}\n{"email": "bad"}\n{"email": "two@acme.example"}\n'
    response = _upload(admin, body)
    assert response.status_code == 302
    page = admin.get(response.location).get_data(as_text=True)
    assert "done" in page and "Download the error report" in page
    assert 'hx-trigger="every 1s"' not in page  # finished: polling stops
    partial = admin.get(response.location, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<section class="panel" id="import-job"')
    report = admin.get(response.location + "/errors.csv")
    assert report.mimetype == "text/csv"
    assert report.get_data(as_text=True).splitlines()[1].startswith("2,email:")
    listing = admin.get("/admin/users/import").get_data(as_text=True)
    assert "users.jsonl" in listing
    with app.app_context():
        emails = set(
            db.session.scalars(select(User.email).where(User.tenant_id == admin.user.tenant_id))
        )
        assert {"one@acme.example", "two@acme.example"} <= emails


def test_a_running_job_polls(app, admin, tenant):
    from app.services.portability import jobs

    with app.app_context():
        job = jobs.create_job(db.session.merge(tenant), "big.jsonl", None)
        jobs.start(job)
        db.session.commit()
        job_id = job.id
    page = admin.get(f"/admin/users/import/{job_id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in page and "running" in page


def test_empty_upload_is_a_form_error(admin):
    token = admin.csrf_token("/admin/users/import")
    response = admin.post("/admin/users/import", data={"csrf_token": token})
    assert response.status_code == 422 and "Choose a JSON" in response.get_data(as_text=True)


def test_exports_and_metadata(app, admin, tenant, make_user):
    person = make_user(tenant, "meta@acme.example")
    exported = admin.get("/admin/export")
    assert exported.status_code == 200
    document = json.loads(exported.get_data(as_text=True))
    assert document["gatehouse_export"] == 1
    assert {u["email"] for u in document["users"]} == {"boss@acme.example", "meta@acme.example"}
    token = admin.csrf_token(f"/admin/users/{person.id}")
    saved = admin.post(
        f"/admin/users/{person.id}/metadata",
        data={"csrf_token": token, "metadata": '{"plan": "pro"}'},
    )
    assert saved.status_code == 302
    data = admin.get(f"/admin/users/{person.id}/export").get_json()
    assert data["profile"]["metadata"] == {"plan": "pro"}
    too_big = admin.post(
        f"/admin/users/{person.id}/metadata",
        data={"csrf_token": token, "metadata": json.dumps({"k": "x" * 17000})},
    )
    assert too_big.status_code == 400
    assert admin.get(f"/admin/users/{person.id}").status_code == 200


def test_another_tenants_job_is_not_found(app, admin, other_tenant):
    from app.services.portability import jobs

    with app.app_context():
        job = jobs.create_job(db.session.merge(other_tenant), "theirs.jsonl", None)
        db.session.commit()
        job_id = job.id
    assert admin.get(f"/admin/users/import/{job_id}").status_code == 404
    assert admin.get(f"/admin/users/import/{job_id}/errors.csv").status_code == 404
