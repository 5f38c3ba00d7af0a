"""The tenant's landing page."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    return render_template("web/home.html")
