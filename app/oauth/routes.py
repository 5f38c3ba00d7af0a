"""Routes of the oauth blueprint."""

from app.oauth import bp  # noqa: F401
