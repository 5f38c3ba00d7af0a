"""Property-based tests of the admin API against its own OpenAPI document (schemathesis 4):
every operation, a bounded number of deterministic examples (valid and invalid), through
the Flask app in-process with an instance key. Checked: no 5xx, documented status codes
and media types, response bodies that match their schemas, invalid input refused."""

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.specs.openapi.checks import negative_data_rejection
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.checks import status_code_conformance

from app.api.openapi import DOCUMENT
from app.extensions import db
from tests.support.api import BASE_URL
from tests.support.api import create_admin_key

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Bounded and deterministic (derandomize): the same examples on every run, ~30 s of CPU.
POSITIVE = settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
NEGATIVE = settings(POSITIVE, max_examples=3)

# The document is static data; the app under test comes from the fixtures.
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture
def pinned(app, tenant, user):
    """Real rows for the valid examples to land on: acme-corp, a user, an organization."""
    from app.services import orgs

    with app.app_context():
        org = orgs.create_org(db.session.merge(tenant), "Engineering", "eng")
        db.session.commit()
        return {"tenant": "acme-corp", "user_id": user.id, "org": org.id}


def _run(strategy, limits, app, headers):
    @given(case=strategy)
    @limits
    def check(case):
        case.call_and_validate(app=app, base_url=BASE_URL, headers=headers, checks=CHECKS)

    check()


def test_every_operation_matches_the_document(app, pinned):
    headers = {"Authorization": f"Bearer {create_admin_key(app)}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 45
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in pinned.items() if k in names}
        # Valid input aimed at real rows; then invalid bodies and query parameters.
        _run(operation.as_strategy(path_parameters=fixed), POSITIVE, app, headers)
        if operation.query or operation.body:
            negative = operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed)
            _run(negative, NEGATIVE, app, headers)
