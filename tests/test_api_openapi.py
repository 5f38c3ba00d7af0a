"""The OpenAPI document describes exactly the routes the API serves."""

import re

from app.api.openapi import DOCUMENT
from tests.support.api import Api

# Flask rule argument → OpenAPI path parameter.
RENAMED = {"tenant_ref": "tenant", "org_ref": "org", "role_id": "role"}


def _served(app):
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + RENAMED.get(m[1], m[1]) + "}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((path, method.lower()))
    return served


def test_document_and_routes_agree(app):
    documented = {
        (path, method)
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert _served(app) == documented


def test_document_is_openapi_31_with_bearer_security_and_closed_request_bodies(app):
    doc = Api(app, None).get("/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert doc["security"] == [{"bearer": []}]
    schemas = doc["components"]["schemas"]
    assert {"type", "title", "status"} <= set(schemas["Problem"]["properties"])
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert "401" in operation["responses"] or operation.get("security") == []
            body = operation.get("requestBody")
            if body and "application/json" not in body["content"]:  # an image (the logo)
                assert {"image/png", "multipart/form-data"} <= set(body["content"]), path
                continue
            if body:
                name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                if schemas[name]["type"] == "array":  # a file of records (users/import)
                    continue
                assert schemas[name]["additionalProperties"] is False, (path, method)
