"""Enterprise connections of an organization (DESIGN §3 ``connection``): SAML 2.0 or OIDC.

- ``domains`` must be verified domains of the organization (:mod:`app.services.org_domains`);
  a domain routes to at most one connection of the tenant.
- SAML: the IdP metadata is given as XML or as a URL (fetched once, through the outbound
  guard); each connection gets its own SP signing and encryption keys.
- OIDC: the same fields as an upstream provider (``discovery_url``, ``client_id``,
  write-only ``client_secret``, ``scopes``), bound to this organization.
- ``role_mapping`` maps a group (SAML attribute or OIDC ``groups`` claim value) to org roles.
"""

from __future__ import annotations

from app.extensions import db
from app.models import Connection
from app.models import Organization
from app.models import Tenant
from app.security import certificates
from app.security import crypto
from app.security import outbound
from app.services import audit
from app.services import org_domains
from app.services import roles as roles_service
from app.services import saml
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.services.providers import DEFAULT_SCOPES
from app.services.providers import _clean_scopes
from app.services.providers import discovery_url_problem
from app.tenancy import config_of
from app.tenancy import external_url
from app.tenancy import scope

KINDS = ("saml", "oidc")
COMMON = ("kind", "name", "domains", "enforced", "role_mapping")
SAML_FIELDS = ("metadata_xml", "metadata_url", "idp_initiated")
OIDC_FIELDS = ("discovery_url", "client_id", "client_secret", "scopes")
MAX_METADATA = 256 * 1024


def _fetch_metadata(url: str) -> str:
    try:
        outbound.check_url(url, allow_private=True, resolve=False)
        answer = outbound.fetch(
            "GET", url, allow_private=outbound.allow_private(), max_bytes=MAX_METADATA
        )
    except outbound.OutboundError as exc:
        raise ValidationFailed({"metadata_url": f"could not be fetched: {exc.message}"}) from exc
    if not answer.ok:
        raise ValidationFailed({"metadata_url": f"answered HTTP {answer.status_code}"})
    return answer.text


def _check_domains(tenant: Tenant, org: Organization, value, current_id, errors) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors["domains"] = "must be a list of domain names"
        return []
    domains = sorted({v.strip().lower() for v in value if v.strip()})
    verified = org_domains.verified_domains(tenant, org.id)
    missing = [d for d in domains if d not in verified]
    if missing:
        errors["domains"] = f"not a verified domain of this organization: {', '.join(missing)}"
        return domains
    for other in scope(tenant).all(Connection, Connection.id != (current_id or "")):
        taken = set(domains) & set(other.domains or [])
        if taken:
            errors["domains"] = (
                f"already routed to connection {other.id}: {', '.join(sorted(taken))}"
            )
    return domains


def _check_role_mapping(tenant: Tenant, value, errors) -> dict:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(r, str) for r in v)
        for k, v in value.items()
    ):
        errors["role_mapping"] = 'must map a group to a list of org roles: {"group": ["role"]}'
        return {}
    wanted = sorted({r for roles in value.values() for r in roles})
    found = roles_service.find_roles(tenant, "org", wanted)
    missing = [r for r in wanted if r not in found]
    if missing:
        errors["role_mapping"] = f"unknown org role: {', '.join(missing)}"
    return {k.strip(): sorted(set(v)) for k, v in value.items() if k.strip()}


def _validate(tenant, org, data: dict, current: dict, *, creating: bool) -> dict:
    if not isinstance(data, dict):
        raise ValidationFailed({"connection": "must be an object"})
    errors: dict[str, str] = {}
    kind = current.get("kind") if not creating else data.get("kind")
    if kind not in KINDS:
        raise ValidationFailed({"kind": "must be one of: saml, oidc"})
    allowed = set(COMMON) | set(SAML_FIELDS if kind == "saml" else OIDC_FIELDS)
    for name in sorted(set(data) - allowed):
        errors[name] = f"unknown field for kind {kind}"
    if not creating and "kind" in data and data["kind"] != kind:
        errors["kind"] = "cannot be changed; create another connection"
    merged = {**current, **{k: v for k, v in data.items() if k in allowed}}
    name = merged.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        errors["name"] = "is required (at most 100 characters)"
    else:
        merged["name"] = name.strip()
    merged["domains"] = _check_domains(
        tenant, org, merged.get("domains") or [], current.get("id"), errors
    )
    for flag in ("enforced", "idp_initiated"):
        if not isinstance(merged.get(flag, False), bool):
            errors[flag] = "must be true or false"
    merged["role_mapping"] = _check_role_mapping(tenant, merged.get("role_mapping") or {}, errors)
    if kind == "saml":
        _validate_saml(data, merged, errors, creating=creating)
    else:
        _validate_oidc(data, merged, errors, creating=creating)
    if errors:
        raise ValidationFailed(errors)
    return merged


def _validate_saml(data, merged, errors, *, creating) -> None:
    xml, url = data.get("metadata_xml"), data.get("metadata_url")
    if xml and url:
        errors["metadata_xml"] = "give metadata_xml or metadata_url, not both"
        return
    if url:
        problem = discovery_url_problem(url)
        if problem:
            errors["metadata_url"] = problem.replace("for kind oidc ", "")
            return
        try:
            xml = _fetch_metadata(url.strip())
        except ValidationFailed as exc:
            errors.update(exc.errors)
            return
        merged["metadata_url"] = url.strip()
    elif xml is not None:
        merged["metadata_url"] = None
    elif creating:
        errors["metadata_xml"] = "metadata_xml or metadata_url is required for kind saml"
        return
    if xml is None:
        return
    if not isinstance(xml, str) or len(xml) > MAX_METADATA:
        errors["metadata_xml"] = f"must be the IdP's metadata XML (at most {MAX_METADATA} bytes)"
        return
    try:
        saml.idp_entity(xml)
    except ValueError as exc:
        errors["metadata_url" if url else "metadata_xml"] = str(exc)
        return
    merged["metadata_xml"] = xml


def _validate_oidc(data, merged, errors, *, creating) -> None:
    problem = discovery_url_problem(merged.get("discovery_url"))
    if problem:
        errors["discovery_url"] = problem
    else:
        merged["discovery_url"] = merged["discovery_url"].strip()
    client_id = merged.get("client_id")
    if not isinstance(client_id, str) or not client_id.strip() or len(client_id) > 500:
        errors["client_id"] = "is required (at most 500 characters)"
    secret = data.get("client_secret")
    if (creating or "client_secret" in data) and (
        not isinstance(secret, str) or not secret or len(secret) > 2000
    ):
        errors["client_secret"] = "is required (at most 2000 characters)"
    scopes = merged.get("scopes")
    merged["scopes"] = _clean_scopes(scopes if scopes else DEFAULT_SCOPES["oidc"], errors)
    if "openid" not in merged["scopes"]:
        errors.setdefault("scopes", "must include openid")


def _current(connection: Connection) -> dict:
    return {
        "id": connection.id,
        "kind": connection.kind,
        "name": connection.name,
        "domains": list(connection.domains or []),
        "enforced": connection.enforced,
        "role_mapping": dict(connection.role_mapping or {}),
        "idp_initiated": connection.idp_initiated,
        "metadata_url": connection.metadata_url,
        "discovery_url": connection.discovery_url,
        "client_id": connection.client_id,
        "scopes": list(connection.scopes or []),
    }


def _apply(connection: Connection, values: dict, data: dict) -> None:
    for name in ("name", "domains", "enforced", "role_mapping"):
        setattr(connection, name, values.get(name, getattr(connection, name)))
    if connection.kind == "saml":
        connection.idp_initiated = bool(values.get("idp_initiated", False))
        if values.get("metadata_xml"):
            connection.metadata_xml = values["metadata_xml"]
            connection.metadata_url = values.get("metadata_url")
    else:
        connection.discovery_url = values["discovery_url"]
        connection.client_id = values["client_id"].strip()
        connection.scopes = values["scopes"]
        if "client_secret" in data:
            connection.client_secret_encrypted = crypto.encrypt(data["client_secret"].encode())


def create_connection(tenant: Tenant, org: Organization, data: dict) -> Connection:
    """A new connection of ``org``; raises ValidationFailed."""
    values = _validate(tenant, org, data, {}, creating=True)
    connection = scope(tenant).add(Connection(org_id=org.id, kind=values["kind"], name=""))
    _apply(connection, values, data)
    if connection.kind == "saml":
        label = f"Gatehouse {tenant.slug} {org.slug}"
        connection.sp_signing_cert, connection.sp_signing_key_encrypted = certificates.new_key_pair(
            f"{label} signing"
        )
        connection.sp_encryption_cert, connection.sp_encryption_key_encrypted = (
            certificates.new_key_pair(f"{label} encryption")
        )
    db.session.flush()
    audit.record(
        tenant,
        "connection.created",
        target_type="connection",
        target_id=connection.id,
        org_id=org.id,
        kind=connection.kind,
    )
    return connection


def update_connection(tenant, org, connection: Connection, data: dict) -> Connection:
    """Partial update; ``kind`` is fixed, ``client_secret`` replaced only when given."""
    values = _validate(tenant, org, data, _current(connection), creating=False)
    _apply(connection, values, data)
    db.session.flush()
    audit.record(
        tenant,
        "connection.updated",
        target_type="connection",
        target_id=connection.id,
        fields=sorted(data),
    )
    return connection


def delete_connection(tenant: Tenant, connection: Connection) -> None:
    audit.record(
        tenant,
        "connection.deleted",
        target_type="connection",
        target_id=connection.id,
        org_id=connection.org_id,
    )
    db.session.delete(connection)
    db.session.flush()


def get_connection(tenant: Tenant, connection_id: str, org: Organization | None = None):
    """The tenant's connection (of ``org`` when given); NotFound otherwise."""
    criteria = [Connection.id == (connection_id or "")]
    if org is not None:
        criteria.append(Connection.org_id == org.id)
    connection = scope(tenant).first(Connection, *criteria)
    if connection is None:
        raise NotFound("No such connection.")
    return connection


def list_connections(tenant: Tenant, org: Organization | None = None) -> list[Connection]:
    criteria = [Connection.org_id == org.id] if org is not None else []
    return scope(tenant).all(Connection, *criteria, order_by=Connection.id)


def has_connections(tenant: Tenant) -> bool:
    """Whether the tenant has an enterprise connection (the login page then asks for the
    email first): read once per tenant snapshot (a connection's change bumps the
    tenant's configuration version), else read now."""
    snapshot = config_of(tenant)
    if snapshot is None:
        return scope(tenant).count(Connection) > 0
    return snapshot.derived("has_connections", lambda: scope(tenant).count(Connection) > 0)


def for_email(tenant: Tenant, email: str) -> Connection | None:
    """The connection an address routes to: its domain is verified by the connection's
    organization and listed in the connection's ``domains``."""
    domain = (email or "").rpartition("@")[2].strip().lower()
    if not domain:
        return None
    org_id = org_domains.verified_owner(tenant, domain)
    if org_id is None:
        return None
    for connection in list_connections_of_org_id(tenant, org_id):
        if domain in (connection.domains or []):
            return connection
    return None


def list_connections_of_org_id(tenant: Tenant, org_id: str) -> list[Connection]:
    return scope(tenant).all(Connection, Connection.org_id == org_id, order_by=Connection.id)


def client_secret(connection: Connection) -> str:
    if not connection.client_secret_encrypted:
        return ""
    return crypto.decrypt(connection.client_secret_encrypted).decode()


def redirect_uri(tenant: Tenant, connection: Connection) -> str:
    return external_url(tenant, f"/sso/oidc/{connection.id}/callback")


def connection_to_dict(tenant: Tenant, connection: Connection) -> dict:
    """The API/console view: never the client secret nor a private key."""
    out = {
        "id": connection.id,
        "org_id": connection.org_id,
        "kind": connection.kind,
        "name": connection.name,
        "domains": list(connection.domains or []),
        "enforced": connection.enforced,
        "role_mapping": dict(connection.role_mapping or {}),
    }
    if connection.kind == "saml":
        out.update(
            metadata_url=connection.metadata_url,
            metadata_xml=connection.metadata_xml,
            idp_initiated=connection.idp_initiated,
            sp_entity_id=saml.entity_id(tenant, connection),
            sp_metadata_url=saml.entity_id(tenant, connection),
            acs_url=saml.acs_url(tenant, connection),
        )
    else:
        out.update(
            discovery_url=connection.discovery_url,
            client_id=connection.client_id,
            scopes=list(connection.scopes or []),
            redirect_uri=redirect_uri(tenant, connection),
        )
    out["created_at"] = connection.created_at.isoformat()
    return out
