"""The OpenAPI document of /api/v1 and its human-readable page at /api/docs."""

import re

from flask import Blueprint, jsonify, render_template
from markupsafe import Markup, escape

from app.api.openapi import document

bp = Blueprint("api_docs", __name__, url_prefix="/api")


@bp.app_template_filter("inline_code")
def inline_code(text) -> Markup:
    """Escape a description and show its `backticked` words as code (the document's only markup)."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text or ""))))


@bp.route("/v1/openapi.json")
def openapi_json():
    return jsonify(document())


@bp.route("/docs")
def page():
    return render_template("api/docs.html", doc=document())
