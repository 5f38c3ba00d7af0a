"""Secrets in one place: password hashing, token digests, encryption at rest."""

from flask import Flask

from app.security import crypto
from app.security import passwords


def init_app(app: Flask) -> None:
    passwords.init_app(app)
    crypto.init_app(app)
