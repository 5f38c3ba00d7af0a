"""The example's second API: invoices, an API resource of its own in Gatehouse
(identifier by default ``http://localhost:5001/billing``, permission ``read:invoices``).

Its verifier names its own identifier as audience: a token minted for the notes API
(examples/api/app.py) is refused here with 401 ``invalid_token``, and the other way round.
"""

from __future__ import annotations

from flask import Flask
from flask import g
from flask import jsonify
from gatehouse_sdk import TokenVerifier
from gatehouse_sdk import token_permissions
from gatehouse_sdk.flask import init_verifier
from gatehouse_sdk.flask import require_token

PERMISSIONS = {"read:invoices": "Read the invoices"}


def create_billing_api(verifier: TokenVerifier) -> Flask:
    """The billing API as its own app (mounted under ``/billing`` by examples/serve.py)."""
    api = Flask(__name__)
    init_verifier(api, verifier, realm="example-billing")

    @api.get("/me")
    @require_token()
    def me():
        claims = g.token_claims
        return jsonify(
            aud=claims["aud"],
            tenant_id=claims["tenant_id"],
            permissions=sorted(token_permissions(claims)),
        )

    @api.get("/invoices")
    @require_token(permissions=["read:invoices"])
    def invoices():
        tenant_id = g.token_claims["tenant_id"]  # every query is scoped by it
        return jsonify(items=[{"id": f"inv-{tenant_id[-4:]}-1", "amount": 42}], tenant_id=tenant_id)

    return api
