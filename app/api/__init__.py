"""/api/v1 JSON API (session cookie + CSRF header, or Bearer token)."""

from flask import Blueprint, request
from flask_login import current_user

from app.auth.access import wants_bearer
from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def _csrf_unless_bearer():
    # Bearer tokens cannot be sent by another site's form; cookie-authenticated calls need the header.
    # A caller with no session at all has nothing to forge: they get the 401 of login_required.
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and not wants_bearer() and current_user.is_authenticated:
        csrf.protect()
