"""Access rules: role decorators, ownership checks and safe redirects."""
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, request
from flask_login import current_user

from app.errors import PermissionDenied
from app.models import STAFF_ROLES, Role


def role_required(*roles: str):
    """Allow the wrapped view to logged-in users with one of these roles (401/403 otherwise)."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from app.extensions import login_manager
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def staff_required(view):
    """Coordinators and admins only (401 for nobody logged in, 403 for others)."""
    return role_required(*STAFF_ROLES)(view)


def staff_or_handler_required(view):
    """Coordinators, admins and handlers (the people who move reports)."""
    return role_required(*STAFF_ROLES, Role.HANDLER)(view)


def home_endpoint(user) -> str:
    """Where a user lands after logging in: the board, their tasks, or the report form."""
    if user.is_staff:
        return "triage.board"
    return "triage.my_tasks" if user.is_handler else "reports.new"


def can_view_report(user, report) -> bool:
    """Owners, co-reporters, staff, and the handler or department it is assigned to."""
    if not user.is_authenticated:
        return False
    if user.is_staff or report.user_id == user.id:
        return True
    if user.is_handler and (report.assignee_id == user.id or (
            user.department_id and report.department_id == user.department_id)):
        return True
    from app.extensions import db
    from app.models import CoReporter
    return db.session.get(CoReporter, (report.id, user.id)) is not None


def require_view(user, report) -> None:
    """Raise PermissionDenied unless the user may see the report."""
    if not can_view_report(user, report):
        from flask_babel import gettext as _
        raise PermissionDenied(_("You are not allowed to see this report."))


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths are followed after login; anything else goes to default."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return default
    return target


# Where a personal API token counts: the APIs, and the photo files their JSON links to (JPEGs, never a
# page). Elsewhere a Bearer header is ignored, so a token never opens the HTML pages: they need a login.
TOKEN_PATHS = ("/api/", "/open311/", "/photos/")


def wants_bearer() -> str | None:
    """The bearer token of this request, if it carries one where tokens count."""
    if not request.path.startswith(TOKEN_PATHS):
        return None
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None
