"""Domain exceptions; the edge turns them into a form message, an OAuth error or problem+json."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every domain error."""

    status = 400
    title = "Bad request"

    def __init__(self, message: str = "", **extra):
        super().__init__(message or self.title)
        self.message = message or self.title
        self.extra = extra


class ValidationFailed(ServiceError):
    """Input broke a rule; ``errors`` maps field names to messages."""

    status = 400
    title = "Invalid input"

    def __init__(self, errors: dict[str, str], message: str = ""):
        super().__init__(message or "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Conflict(ServiceError):
    """A uniqueness rule (slug, email) would break."""

    status = 409
    title = "Conflict"

    def __init__(self, message: str = "", field: str | None = None):
        super().__init__(message)
        self.errors = {field: message} if field else {}


class PermissionDenied(ServiceError):
    status = 403
    title = "Forbidden"
