"""Site-wide pages: the front door and the health check."""
from flask import Blueprint, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from app.extensions import db

bp = Blueprint("pages", __name__)


@bp.route("/", endpoint="index")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.is_staff:
        return redirect(url_for("triage.board"))
    if current_user.role == "handler":
        return redirect(url_for("triage.my_tasks"))
    return redirect(url_for("reports.new"))


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok")
