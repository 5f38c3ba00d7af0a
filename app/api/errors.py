"""problem+json helpers for the admin API (RFC 9457), on top of app.web.errors.problem."""

from __future__ import annotations

from flask import Response

from app.services.errors import ServiceError
from app.web.errors import problem


class ApiError(ServiceError):
    """An edge error (bad JSON, wrong media type) raised from a view helper.

    It is a :class:`ServiceError`, so the app's handler rolls back and answers problem+json.
    """

    def __init__(self, status: int, title: str, detail: str = "", errors: dict | None = None):
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.errors = errors or {}


def bad_request(errors: dict[str, str], detail: str = "") -> ApiError:
    detail = detail or "; ".join(f"{k}: {v}" for k, v in errors.items())
    return ApiError(400, "Invalid input", detail, errors)


def unsupported_media_type() -> ApiError:
    return ApiError(415, "Unsupported media type", "Send the request body as application/json.")


def unauthorized(detail: str, *, invalid: bool = False) -> Response:
    """401 with the RFC 6750 §3 challenge."""
    response = problem(401, "Unauthorized", detail)
    challenge = 'Bearer realm="gatehouse-admin"'
    if invalid:
        challenge += ', error="invalid_token"'
    response.headers["WWW-Authenticate"] = challenge
    return response


def forbidden(detail: str) -> Response:
    return problem(403, "Forbidden", detail)
