"""The protocol endpoints' plain successes as WSGI-ready parts, not Werkzeug responses.

A token, introspection or userinfo success is always the same shape: 200, a JSON body,
``Content-Type: application/json``, ``Cache-Control: no-store``, ``Pragma: no-cache``.
Building a Werkzeug ``Response`` for it (its ``Headers``, the content-type and length
bookkeeping) and then taking it apart again into WSGI headers was ~15% of a
client_credentials grant (bench/NOTES.md). :class:`JsonAnswer` holds just the parts;
the lean layer (app/oauth/lean.py) adds its own headers and hands the body to the server
as one bytes object. Only the lean path's handlers return it: everything else, every
error included, stays a Werkzeug response.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from app import json_codec

NO_STORE_JSON = (
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
)


class JsonAnswer:
    """A 200 no-store JSON answer: ``status_code`` (what the gate and the log read), the
    encoded ``body`` and its ``headers`` (name, value) pairs."""

    __slots__ = ("body", "headers")

    status_code = 200
    status = "200 OK"

    def __init__(self, body: bytes, headers: tuple = NO_STORE_JSON):
        self.body = body
        self.headers = headers

    @classmethod
    def of(cls, payload: dict) -> JsonAnswer:
        """``payload`` as compact JSON (app/json_codec.py)."""
        return cls(json_codec.dumps(payload))

    def __call__(self, environ, start_response):
        """As a WSGI app: how Flask turns it into a response when a view returns it (the
        protocol views behind the lean path, app/oauth/routes.py)."""
        start_response(self.status, [*self.headers, ("Content-Length", str(len(self.body)))])
        return [self.body]


def as_response(answer):
    """``answer`` as a Werkzeug response, for a caller that sets headers on it (the DPoP
    nonce); a response stays as it is."""
    if isinstance(answer, JsonAnswer):
        return Response(answer.body, headers=answer.headers)
    return answer
