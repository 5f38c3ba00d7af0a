"""A real SAML 2.0 identity provider for the tests, on pysaml2's IdP side: its own keys,
its own metadata, and responses made (and signed, encrypted) by pysaml2 itself."""

from __future__ import annotations

import base64
import os
import shutil
import tempfile

from saml2 import BINDING_HTTP_POST
from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS
from saml2.saml import NameID
from saml2.server import Server

ENTITY_ID = "https://idp.corp.example/metadata"
SSO_URL = "https://idp.corp.example/sso"


def _write_keys(workdir: str, name: str) -> tuple[str, str]:
    """A fresh RSA key and certificate on disk (PEM) for the IdP."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.support.saml_certs import self_signed

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert_pem = self_signed(key, name)
    key_path = os.path.join(workdir, f"{name}.key")
    cert_path = os.path.join(workdir, f"{name}.crt")
    with open(key_path, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    with open(cert_path, "wb") as handle:
        handle.write(cert_pem)
    return key_path, cert_path


class SamlIdp:
    """``SamlIdp()`` → ``.metadata`` (XML); ``.trust(sp_metadata)``; ``.response(...)``."""

    def __init__(self, entity_id: str = ENTITY_ID, sso_url: str = SSO_URL, lifetime_minutes=15):
        self.entity_id, self.sso_url = entity_id, sso_url
        self.workdir = tempfile.mkdtemp(prefix="gh-test-idp-")
        self.key_file, self.cert_file = _write_keys(self.workdir, "idp")
        self.sp_metadata: list[str] = []
        self.lifetime_minutes = lifetime_minutes
        self.server = self._server()

    def _config(self) -> dict:
        return {
            "entityid": self.entity_id,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "key_file": self.key_file,
            "cert_file": self.cert_file,
            "metadata": {"inline": list(self.sp_metadata)} if self.sp_metadata else {},
            "service": {
                "idp": {
                    "name": "Test IdP",
                    "endpoints": {
                        "single_sign_on_service": [
                            (self.sso_url, BINDING_HTTP_REDIRECT),
                            (self.sso_url, BINDING_HTTP_POST),
                        ]
                    },
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": self.lifetime_minutes},
                            "attribute_restrictions": None,
                            "name_form": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
                        }
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                }
            },
        }

    def _server(self) -> Server:
        config = IdPConfig()
        config.load(self._config())
        return Server(config=config)

    @property
    def metadata(self) -> str:
        return create_metadata_string(None, config=self.server.config, valid=24).decode()

    def trust(self, sp_metadata: str) -> None:
        """Know an SP (its ACS, its encryption certificate) from its metadata."""
        self.sp_metadata.append(sp_metadata)
        self.server = self._server()

    def parse_request(self, saml_request: str):
        """The AuthnRequest a browser brought (HTTP-Redirect binding)."""
        return self.server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT)

    def response(
        self,
        *,
        email: str,
        sp_entity_id: str,
        acs: str,
        in_response_to: str | None,
        name: str = "Grace Hopper",
        groups=(),
        sign_response: bool = True,
        sign_assertion: bool = True,
        encrypt: bool = False,
        subject: str | None = None,
        audience: str | None = None,
    ) -> str:
        """A base64 SAMLResponse as an IdP would POST it."""
        identity = {
            "mail": [email],
            "displayName": [name],
            "givenName": [name.split(" ")[0]],
        }
        if groups:
            identity["groups"] = list(groups)
        kwargs = {}
        if encrypt:
            kwargs.update(encrypt_assertion=True, encrypted_advice_attributes=False)
        xml = self.server.create_authn_response(
            identity,
            in_response_to,
            acs,
            audience or sp_entity_id,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=subject or email),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            sign_response=sign_response,
            sign_assertion=sign_assertion,
            **kwargs,
        )
        return base64.b64encode(str(xml).encode()).decode()

    def close(self):
        shutil.rmtree(self.workdir, ignore_errors=True)


def _trust_from(self, other: SamlIdp) -> None:
    """Trust the same SPs as ``other`` (an impostor with its own key)."""
    self.sp_metadata = list(other.sp_metadata)
    self.server = self._server()


SamlIdp.trust_from = _trust_from
