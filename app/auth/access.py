"""Access rules: role decorators, ownership checks and safe redirects."""

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, or_, select

from app.errors import PermissionDenied
from app.extensions import db, login_manager
from app.models import STAFF_ROLES, CoReporter, ReportEvent, Role, User


def role_required(*roles: str):
    """Allow the wrapped view to logged-in users with one of these roles (401/403 otherwise)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
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


def handles(user, report) -> bool:
    """The handler rule: a handler is responsible for the reports assigned to them or to their department."""
    return user.is_handler and (
        report.assignee_id == user.id or (user.department_id is not None and report.department_id == user.department_id)
    )


def sees_private_parts(user, report) -> bool:
    """Who sees all of a report (who filed it, its description, every photo and comment): its rider, staff,
    the handler or department it is assigned to, and its grid's worker."""
    if not user.is_authenticated:
        return False
    return user.is_staff or report.user_id == user.id or handles(user, report) or works_grid_of(user, report)


def works_grid_of(user, report) -> bool:
    """The grid worker (网格员) of the report's grid: they see the new reports of their grid."""
    return report.grid_id is not None and report.grid is not None and report.grid.worker_id == user.id


def is_co_reporter(user, report) -> bool:
    """A rider whose duplicate was merged into the report, or who added their photo to it."""
    return user.is_authenticated and db.session.get(CoReporter, (report.id, user.id)) is not None


def shared_with_co_reporter(user_id: int):
    """SQL over ReportEvent: the public timeline entries (and their photos) a co-reporter sees: the staff's and
    handlers' moves and replies, and their own additions; never another rider's filing, photos or comments."""
    by_a_rider = select(User.id).where(User.id == ReportEvent.actor_id, User.role == Role.RIDER).exists()
    return and_(ReportEvent.internal.is_(False), or_(ReportEvent.actor_id == user_id, ~by_a_rider))


def require_view(user, report) -> bool:
    """Raise PermissionDenied unless the user may see the report; True when they see all of it, False when
    only a co-reporter's share."""
    if sees_private_parts(user, report):
        return True
    if is_co_reporter(user, report):
        return False
    raise PermissionDenied(_("You are not allowed to see this report."))


def require_photo_view(user, photo) -> None:
    """Raise PermissionDenied unless the user may see this photo: any of the report's to those who see all of
    it, to a co-reporter only those of timeline entries shared with them (never the rider's own photos)."""
    if require_view(user, photo.report):
        return
    if (
        photo.event_id is None
        or db.session.scalar(
            select(ReportEvent.id).where(ReportEvent.id == photo.event_id, shared_with_co_reporter(user.id))
        )
        is None
    ):
        raise PermissionDenied(_("You are not allowed to see this photo."))


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths are followed after login; anything else goes to default."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


# Where a personal API token counts: the APIs, and the photo files their JSON links to (JPEGs, never a
# page). Elsewhere a Bearer header is ignored, so a token never opens the HTML pages: they need a login.
TOKEN_PATHS = ("/api/", "/open311/", "/photos/", "/voice/")


def wants_bearer() -> str | None:
    """The bearer token of this request, if it carries one where tokens count."""
    if not request.path.startswith(TOKEN_PATHS):
        return None
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None
