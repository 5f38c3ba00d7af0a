"""Building import files and running import jobs through the admin API in tests."""

from __future__ import annotations

import base64
import hashlib
import json

import bcrypt
from argon2 import PasswordHasher

from tests.support.api import Api
from tests.support.api import create_admin_key


def bcrypt_hash(password: str, prefix: str = "2b", rounds: int = 4) -> str:
    """A bcrypt hash as other systems store it ($2a$, $2b$ or PHP's $2y$)."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()
    return f"${prefix}$" + hashed[4:]


def django_hash(password: str, salt: str = "s4ltS4ltS4lt", iterations: int = 1000) -> str:
    """Django's PBKDF2PasswordHasher format, built the way Django builds it."""
    raw = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(raw).decode()}"


def argon2id_hash(password: str) -> str:
    """An argon2id hash with other parameters than Gatehouse's (as another system made it)."""
    return PasswordHasher(time_cost=2, memory_cost=1024, parallelism=2).hash(password)


def jsonl(records: list) -> bytes:
    return "\n".join(json.dumps(r) for r in records).encode() + b"\n"


class Importer:
    """``importer.upload(tenant_ref, body, lines=True)`` → (response, job)."""

    def __init__(self, app, tenant=None):
        self.api = Api(app, create_admin_key(app, tenant))

    def upload(self, tenant_ref: str, body, *, lines: bool = True):
        if not isinstance(body, bytes):
            body = jsonl(body) if lines else json.dumps(body).encode()
        mimetype = "application/x-ndjson" if lines else "application/json"
        response = self.api.post(
            f"/tenants/{tenant_ref}/users/import", data=body, headers={"Content-Type": mimetype}
        )
        return response, response.get_json()

    def job(self, tenant_ref: str, job_id: str) -> dict:
        return self.api.get(f"/tenants/{tenant_ref}/users/import/{job_id}").get_json()
