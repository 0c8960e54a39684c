"""The OpenAPI document of /api/v1 and its human-readable page at /api/docs."""
from flask import Blueprint, jsonify, render_template

from app.api.openapi import document

bp = Blueprint("api_docs", __name__, url_prefix="/api")


@bp.route("/v1/openapi.json")
def openapi_json():
    return jsonify(document())


@bp.route("/docs")
def page():
    return render_template("api/docs.html", doc=document())
