"""`gatehouse import SLUG < file` and `gatehouse export SLUG > tenant.json`."""

import json

from tests.support.imports import jsonl


def test_import_users_from_stdin_reports_per_line(app, tenant):
    body = jsonl([{"email": "a@example.com"}, {"email": "nope"}, {"email": "b@example.com"}])
    result = app.test_cli_runner().invoke(args=["import", "acme-corp"], input=body)
    assert result.exit_code == 0, result.output
    assert "done: 3 processed, 2 created, 0 updated, 1 errors" in result.output
    assert "line 2: email:" in result.output
    again = app.test_cli_runner().invoke(args=["import", "acme-corp"], input=body)
    assert "done: 3 processed, 0 created, 0 updated, 1 errors" in again.output


def test_a_broken_file_fails_with_a_nonzero_exit(app, tenant):
    result = app.test_cli_runner().invoke(args=["import", "acme-corp"], input=b'[{"email": ')
    assert result.exit_code == 1 and "failed:" in result.output


def test_a_user_file_needs_an_existing_tenant(app):
    result = app.test_cli_runner().invoke(args=["import", "nowhere"], input=b"[]")
    assert result.exit_code != 0 and "no tenant 'nowhere'" in result.output


def test_export_writes_json_to_stdout(app, tenant, user):
    result = app.test_cli_runner().invoke(args=["export", "acme-corp"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert list(document)[0] == "gatehouse_export" and list(document)[-1] == "users"
    (exported,) = document["users"]
    assert exported["email"] == "ada@example.com"
    assert exported["password_hash"].startswith("$argon2id$")
    assert app.test_cli_runner().invoke(args=["export", "nowhere"]).exit_code != 0
