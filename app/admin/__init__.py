"""Admin pages: users, categories, departments, grids, teams and invites, templates; the audit log."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
