"""Routes of the account blueprint."""

from app.account import bp  # noqa: F401
