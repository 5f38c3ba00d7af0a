"""SCIM service discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas."""

from __future__ import annotations

from app.scim import protocol
from app.scim.representation import GROUP
from app.scim.representation import USER
from app.tenancy import current_tenant
from app.tenancy import external_url

SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


def _attribute(
    name,
    type_="string",
    *,
    required=False,
    multi=False,
    mutability="readWrite",
    uniqueness="none",
    sub=None,
):
    attribute = {
        "name": name,
        "type": type_,
        "multiValued": multi,
        "required": required,
        "caseExact": False,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    }
    if sub:
        attribute["subAttributes"] = sub
    return attribute


SCHEMAS = [
    {
        "id": USER,
        "name": "User",
        "description": "A person of the organization (userName is the email address).",
        "attributes": [
            _attribute("userName", required=True, uniqueness="server"),
            _attribute("externalId"),
            _attribute("displayName"),
            _attribute(
                "name",
                "complex",
                sub=[_attribute(n) for n in ("formatted", "givenName", "familyName")],
            ),
            _attribute(
                "emails",
                "complex",
                multi=True,
                sub=[_attribute("value"), _attribute("type"), _attribute("primary", "boolean")],
            ),
            _attribute("active", "boolean"),
            _attribute(
                "groups",
                "complex",
                multi=True,
                mutability="readOnly",
                sub=[_attribute("value", mutability="readOnly"), _attribute("display")],
            ),
        ],
    },
    {
        "id": GROUP,
        "name": "Group",
        "description": "An organization role; its members hold it in this organization.",
        "attributes": [
            _attribute("displayName", required=True, uniqueness="server"),
            _attribute(
                "members",
                "complex",
                multi=True,
                sub=[_attribute("value", mutability="immutable"), _attribute("display")],
            ),
        ],
    },
]


def _with_meta(resource: dict, kind: str, path: str) -> dict:
    return {
        **resource,
        "meta": {"resourceType": kind, "location": external_url(current_tenant, path)},
    }


def register(bp) -> None:
    @bp.get("/ServiceProviderConfig")
    def service_provider_config():
        return protocol.scim_json(
            _with_meta(
                {
                    "schemas": [SPC],
                    "patch": {"supported": True},
                    "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
                    "filter": {"supported": True, "maxResults": protocol.MAX_COUNT},
                    "changePassword": {"supported": False},
                    "sort": {"supported": False},
                    "etag": {"supported": False},
                    "authenticationSchemes": [
                        {
                            "type": "oauthbearertoken",
                            "name": "OAuth Bearer Token",
                            "description": "A SCIM token of one organization.",
                            "primary": True,
                        }
                    ],
                },
                "ServiceProviderConfig",
                "/scim/v2/ServiceProviderConfig",
            )
        )

    @bp.get("/ResourceTypes")
    def resource_types():
        types = [
            _with_meta(
                {
                    "schemas": [RESOURCE_TYPE],
                    "id": name,
                    "name": name,
                    "endpoint": f"/{name}s",
                    "schema": schema,
                },
                "ResourceType",
                f"/scim/v2/ResourceTypes/{name}",
            )
            for name, schema in (("User", USER), ("Group", GROUP))
        ]
        return protocol.list_response(types, len(types), 1)

    @bp.get("/Schemas")
    def schemas():
        resources = [
            _with_meta({**s, "schemas": [SCHEMA]}, "Schema", f"/scim/v2/Schemas/{s['id']}")
            for s in SCHEMAS
        ]
        return protocol.list_response(resources, len(resources), 1)

    @bp.get("/Schemas/<schema_id>")
    def schema(schema_id):
        for s in SCHEMAS:
            if s["id"] == schema_id:
                path = f"/scim/v2/Schemas/{s['id']}"
                return protocol.scim_json(_with_meta({**s, "schemas": [SCHEMA]}, "Schema", path))
        return protocol.error_response(404, "No such schema.")
