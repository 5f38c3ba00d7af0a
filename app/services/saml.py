"""SAML 2.0 service provider of one connection, on pysaml2 (xmlsec1 does the crypto).

- SP-initiated: :func:`authn_request` makes a signed AuthnRequest (HTTP-Redirect) and
  returns its ID, which the caller keeps for the InResponseTo check.
- The ACS (HTTP-POST): :func:`consume` requires a signed Response or Assertion (by a key
  of the IdP's metadata) and checks Audience, Recipient, Destination, NotBefore /
  NotOnOrAfter (60 s of clock skew), InResponseTo against the outstanding requests
  (unsolicited responses only when the connection allows IdP-initiated sign-in), the
  Issuer, and that the assertion ID was never consumed before (stored until it expires).
  Encrypted assertions are decrypted with the connection's encryption key.
- XML comments anywhere in a Response are refused: they are the means of the
  "comments in NameID" trick (a signature over ``a@evil.com<!---->.example.com`` while
  a naive reader sees ``a@evil.com``). Signature wrapping is refused by pysaml2 (the
  assertion read is the one the signature covers) and by requiring exactly one
  assertion.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from saml2 import BINDING_HTTP_POST
from saml2 import BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.mdstore import MetadataStore
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS
from saml2.saml import NAMEID_FORMAT_UNSPECIFIED
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Connection
from app.models import SeenAssertion
from app.models import Tenant
from app.models.base import utcnow
from app.security.certificates import private_key_pem
from app.security.tokens import new_token
from app.tenancy import external_url
from app.tenancy import scope

SKEW_SECONDS = 60
MAX_RESPONSE_BYTES = 512 * 1024
EMAIL_ATTRIBUTES = (
    "email",
    "mail",
    "emailaddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
)
NAME_ATTRIBUTES = (
    "name",
    "displayname",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "urn:oid:2.16.840.1.113730.3.1.241",
)
GIVEN_ATTRIBUTES = (
    "givenname",
    "firstname",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "urn:oid:2.5.4.42",
)
SURNAME_ATTRIBUTES = (
    "sn",
    "surname",
    "lastname",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "urn:oid:2.5.4.4",
)
GROUP_ATTRIBUTES = (
    "groups",
    "group",
    "memberof",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    "http://schemas.xmlsoap.org/claims/group",
)


class SamlError(Exception):
    """The response cannot be trusted or used; ``reason`` is a short code for the audit."""

    def __init__(self, reason: str, message: str = "The sign-in answer was refused."):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Assertion:
    """What a verified assertion says about the person."""

    subject: str
    email: str | None
    name: str
    groups: list[str] = field(default_factory=list)
    in_response_to: str | None = None


def entity_id(tenant: Tenant, connection: Connection) -> str:
    """Our SP entity ID for this connection: its metadata URL."""
    return external_url(tenant, f"/sso/saml/{connection.id}/metadata")


def acs_url(tenant: Tenant, connection: Connection) -> str:
    return external_url(tenant, f"/sso/saml/{connection.id}/acs")


def idp_entity(metadata_xml: str) -> tuple[str, str]:
    """(entity ID, HTTP-Redirect SSO URL) of the single IdP in ``metadata_xml``;
    raises ValueError when it is not usable IdP metadata."""
    store = MetadataStore(None, None)
    try:
        store.load("inline", metadata_xml)
    except Exception as exc:  # pysaml2 raises many kinds for bad XML
        raise ValueError("is not valid SAML metadata") from exc
    idps = list(store.identity_providers())
    if len(idps) != 1:
        raise ValueError("must describe exactly one identity provider (IDPSSODescriptor)")
    try:
        services = store.single_sign_on_service(idps[0], BINDING_HTTP_REDIRECT)
    except Exception:  # noqa: BLE001 - an absent binding is just "none"
        services = []
    if not services:
        raise ValueError("has no SingleSignOnService with the HTTP-Redirect binding")
    if not store.certs(idps[0], "idpsso", "signing"):
        raise ValueError("has no signing certificate for the identity provider")
    return idps[0], services[0]["location"]


@contextlib.contextmanager
def _client(tenant: Tenant, connection: Connection):
    """A pysaml2 client for this connection; the private keys exist on disk (mode 0600,
    in a private temporary directory) only while it is in use, because xmlsec1 reads
    keys from files."""
    workdir = tempfile.mkdtemp(prefix="gh-saml-")
    try:
        paths = {}
        for usage in ("signing", "encryption"):
            cert = getattr(connection, f"sp_{usage}_cert")
            key = private_key_pem(getattr(connection, f"sp_{usage}_key_encrypted"))
            for suffix, content in (("key", key), ("crt", cert.encode())):
                path = os.path.join(workdir, f"{usage}.{suffix}")
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                paths[f"{usage}.{suffix}"] = path
        config = SPConfig()
        config.load(
            {
                "entityid": entity_id(tenant, connection),
                "xmlsec_binary": shutil.which("xmlsec1") or "/usr/bin/xmlsec1",
                "metadata": {"inline": [connection.metadata_xml or ""]},
                "key_file": paths["signing.key"],
                "cert_file": paths["signing.crt"],
                "encryption_keypairs": [
                    {"key_file": paths["encryption.key"], "cert_file": paths["encryption.crt"]}
                ],
                "accepted_time_diff": SKEW_SECONDS,
                "allow_unknown_attributes": True,
                "service": {
                    "sp": {
                        "name": connection.name,
                        "endpoints": {
                            "assertion_consumer_service": [
                                (acs_url(tenant, connection), BINDING_HTTP_POST)
                            ]
                        },
                        "allow_unsolicited": bool(connection.idp_initiated),
                        "authn_requests_signed": True,
                        "want_response_signed": False,
                        "want_assertions_signed": False,
                        "want_assertions_or_response_signed": True,
                        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_UNSPECIFIED],
                        "name_id_format_allow_create": True,
                    }
                },
            }
        )
        yield Saml2Client(config=config)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def sp_metadata(tenant: Tenant, connection: Connection) -> str:
    """Our SP metadata for this connection (entity ID, ACS, signing and encryption certs)."""
    with _client(tenant, connection) as client:
        return create_metadata_string(None, config=client.config, valid=24 * 365).decode()


def new_request_id() -> str:
    """A fresh AuthnRequest ID (an XML NCName: it must not start with a digit)."""
    return "_" + new_token(24).replace("-", "_")


def authn_request(tenant: Tenant, connection: Connection, request_id: str, relay_state: str) -> str:
    """The URL to redirect the browser to for an SP-initiated sign-in (signed request)."""
    idp, _ = idp_entity(connection.metadata_xml or "")
    with _client(tenant, connection) as client:
        _, info = client.prepare_for_authenticate(
            entityid=idp,
            relay_state=relay_state,
            message_id=request_id,
            binding=BINDING_HTTP_REDIRECT,
            sign=True,
            nameid_format=NAMEID_FORMAT_UNSPECIFIED,
        )
    return dict(info["headers"])["Location"]


def _decoded(saml_response: str) -> str:
    if not saml_response or len(saml_response) > MAX_RESPONSE_BYTES:
        raise SamlError("malformed", "The sign-in answer is missing or too large.")
    try:
        xml = base64.b64decode(saml_response, validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise SamlError("malformed", "The sign-in answer is not valid.") from exc
    if "<!--" in xml:
        raise SamlError("xml_comment", "The sign-in answer contains XML comments.")
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        raise SamlError("malformed", "The sign-in answer contains a document type.")
    return xml


def consume(
    tenant: Tenant, connection: Connection, saml_response: str, outstanding: dict[str, str]
) -> Assertion:
    """Verify an ACS POST and record its assertion ID; raises SamlError."""
    _decoded(saml_response)
    idp, _ = idp_entity(connection.metadata_xml or "")
    with _client(tenant, connection) as client:
        try:
            response = client.parse_authn_request_response(
                saml_response, BINDING_HTTP_POST, outstanding=outstanding
            )
        except Exception as exc:  # pysaml2 signals each failed check by its own exception
            raise SamlError(_reason(exc)) from exc
    if response is None or response.assertion is None:
        raise SamlError("invalid")
    if len(response.assertions) != 1:
        raise SamlError("assertion_count")
    if response.response.destination != acs_url(tenant, connection):
        raise SamlError("destination")
    if response.response.issuer is not None and response.response.issuer.text != idp:
        raise SamlError("issuer")
    assertion = response.assertion
    if assertion.issuer is None or assertion.issuer.text != idp:
        raise SamlError("issuer")
    _remember(tenant, connection, assertion)
    return _read(response)


def _reason(exc: Exception) -> str:
    name = type(exc).__name__
    known = {
        "SignatureError": "signature",
        "MissingSignature": "unsigned",
        "SigverError": "signature",
        "ToEarly": "not_yet_valid",
        "ResponseLifetimeExceed": "expired",
        "UnsolicitedResponse": "unsolicited",
        "VerificationError": "invalid",
        "StatusError": "idp_status",
        "InvalidAssertion": "assertion_count",
    }
    if name in known:
        return known[name]
    text = str(exc).lower()
    if "audience" in text:
        return "audience"
    if "recipient" in text or "destination" in text:
        return "destination"
    if "timeout" in text or "too old" in text or "expired" in text:
        return "expired"
    if "signature" in text or "signed" in text:
        return "signature"
    return "invalid"


def _remember(tenant: Tenant, connection: Connection, assertion) -> None:
    """Refuse a replayed assertion ID; keep this one until it can no longer be valid."""
    expires = utcnow() + timedelta(hours=1)
    conditions = assertion.conditions
    if conditions is not None and conditions.not_on_or_after:
        parsed = _parse_time(conditions.not_on_or_after)
        if parsed is not None:
            expires = parsed + timedelta(seconds=SKEW_SECONDS)
    now = utcnow()
    db.session.execute(
        db.delete(SeenAssertion).where(
            SeenAssertion.tenant_id == tenant.id, SeenAssertion.expires_at < now
        )
    )
    if scope(tenant).first(
        SeenAssertion,
        SeenAssertion.connection_id == connection.id,
        SeenAssertion.assertion_id == assertion.id,
    ):
        raise SamlError("replay", "This sign-in answer was already used.")
    try:
        with db.session.begin_nested():
            scope(tenant).add(
                SeenAssertion(
                    connection_id=connection.id, assertion_id=assertion.id, expires_at=expires
                )
            )
    except IntegrityError as exc:  # the same assertion posted twice at once
        raise SamlError("replay", "This sign-in answer was already used.") from exc


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _first(attributes: dict, names) -> str | None:
    for name in names:
        values = attributes.get(name)
        if values:
            return str(values[0])
    return None


def _read(response) -> Assertion:
    subject = response.assertion.subject
    name_id = subject.name_id if subject is not None else None
    if name_id is None or not (name_id.text or "").strip():
        raise SamlError("no_subject", "The identity provider did not say who you are.")
    raw = response.ava or {}
    attributes = {key.lower(): list(values) for key, values in raw.items()}
    for statement in response.assertion.attribute_statement or []:
        for attribute in statement.attribute:
            values = [str(v.text) for v in attribute.attribute_value if v.text]
            attributes.setdefault(attribute.name.lower(), values)
    email = _first(attributes, EMAIL_ATTRIBUTES)
    if not email and name_id.format == NAMEID_FORMAT_EMAILADDRESS:
        email = name_id.text.strip()
    name = _first(attributes, NAME_ATTRIBUTES) or " ".join(
        part
        for part in (_first(attributes, GIVEN_ATTRIBUTES), _first(attributes, SURNAME_ATTRIBUTES))
        if part
    )
    groups = []
    for key in GROUP_ATTRIBUTES:
        groups.extend(attributes.get(key) or [])
    return Assertion(
        subject=name_id.text.strip(),
        email=email,
        name=name or "",
        groups=list(dict.fromkeys(groups)),
        in_response_to=response.in_response_to,
    )
