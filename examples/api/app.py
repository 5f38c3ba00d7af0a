"""The example's notes API, protected by ``gatehouse_sdk.flask.require_token``.

It is an API resource of its own in Gatehouse (identifier: its URL, by default
``http://localhost:5001/api``; permissions ``read:notes`` and ``write:notes``): its
verifier accepts only tokens whose ``aud`` is that identifier, so a token for another API
(examples/api/billing.py) is refused here.

Every "query" is scoped by the token's ``tenant_id`` (and ``org_id``): the notes
store is one shared table, like a real multi-tenant backend's, and no view reads it
without the caller's tenant. The tenant comes from the verified token only, never
from the request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from dataclasses import field

from flask import Blueprint
from flask import Flask
from flask import g
from flask import jsonify
from flask import request
from gatehouse_sdk import TokenVerifier
from gatehouse_sdk import token_scopes
from gatehouse_sdk.flask import init_verifier
from gatehouse_sdk.flask import require_token

PERMISSIONS = {"read:notes": "Read the notes", "write:notes": "Add notes"}

bp = Blueprint("example_api", __name__, url_prefix="/api")


@dataclass
class NoteStore:
    """An in-memory table of notes shared by all tenants (a stand-in for a database)."""

    rows: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def for_tenant(self, tenant_id: str, org_id: str | None) -> list[dict]:
        """The notes of one tenant (and of its active organization, if any)."""
        with self.lock:
            return [
                row
                for row in self.rows
                if row["tenant_id"] == tenant_id and row["org_id"] == org_id
            ]

    def add(self, tenant_id: str, org_id: str | None, author: str, text: str) -> dict:
        row = {
            "id": len(self.rows) + 1,
            "tenant_id": tenant_id,
            "org_id": org_id,
            "author": author,
            "text": text,
        }
        with self.lock:
            self.rows.append(row)
        return row


def _store() -> NoteStore:
    from flask import current_app

    return current_app.extensions["example_notes"]


@bp.get("/me")
@require_token()
def me():
    """Who is calling: the token's audience, tenant, organization, roles and scopes."""
    claims = g.token_claims
    return jsonify(
        aud=claims["aud"],
        sub=claims["sub"],
        tenant_id=claims["tenant_id"],
        org_id=claims.get("org_id"),
        roles=claims.get("roles", []),
        scopes=sorted(token_scopes(claims)),
        client_id=claims["client_id"],
        issuer=claims["iss"],
    )


@bp.get("/notes")
@require_token(permissions=["read:notes"])
def list_notes():
    claims = g.token_claims
    notes = _store().for_tenant(claims["tenant_id"], claims.get("org_id"))
    return jsonify(items=notes, tenant_id=claims["tenant_id"], org_id=claims.get("org_id"))


@bp.post("/notes")
@require_token(permissions=["write:notes"])
def add_note():
    claims = g.token_claims
    payload = request.get_json(silent=True) or {}
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > 500:
        return jsonify(error="text is required (at most 500 characters)"), 400
    note = _store().add(claims["tenant_id"], claims.get("org_id"), claims["sub"], text.strip())
    return jsonify(note), 201


@bp.get("/admin")
@require_token(roles=["admin"])
def admin_only():
    return jsonify(ok=True, tenant_id=g.token_claims["tenant_id"])


def create_api(verifier: TokenVerifier) -> Flask:
    """The API app, verifying tokens with ``verifier``."""
    api = Flask(__name__)
    api.extensions["example_notes"] = NoteStore()
    init_verifier(api, verifier, realm="example-api")
    api.register_blueprint(bp)
    return api
