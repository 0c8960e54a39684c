"""Per-rider limits on filing: reports, and comments with added photos.

One bucket per rider, whichever way they file (the form, the JSON API, Open311), kept by Flask-Limiter
in its store (Redis when several servers run). Staff and handlers are not limited: they are known
employees, and a coordinator clears a backlog in bursts.
"""
import time
from datetime import timedelta
from typing import Callable

from flask import current_app, request
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import limiter
from app.reports.services import find_by_idempotency_key, stored_idempotency_key


def _rider(filer: Callable):
    user = filer()
    return user if user is not None and user.is_authenticated and user.is_rider else None


def _counted(response) -> bool:
    # What the limit itself refused is not counted, nor our own failures (5xx): the outbox retries those.
    return response.status_code != 429 and response.status_code < 500


def _header_key() -> str | None:
    return request.headers.get("Idempotency-Key")


def _replay(user, raw_key: str | None) -> bool:
    """An outbox sending again a report the server already has (the key the view files with)."""
    return find_by_idempotency_key(user, stored_idempotency_key(raw_key)) is not None


def _wait() -> str:
    """How long until the limit that was reached lets the rider send again, in the rider's language."""
    reached = limiter.current_limit
    seconds = max(60, reached.reset_at - time.time()) if reached else 60
    return format_timedelta(timedelta(seconds=seconds), threshold=1.5, add_direction=False)


def _too_many_reports() -> str:
    return _("You have filed many reports in a short time. You can file again in %(wait)s; a report saved "
             "on your phone is sent by itself then.", wait=_wait())


def _too_many_comments() -> str:
    return _("You have sent many comments and photos in a short time. You can send more in %(wait)s.",
             wait=_wait())


def rider_limit(setting: str, scope: str, message: Callable[[], str], *, filer: Callable = lambda: current_user,
                idempotency_key: Callable[[], str | None] | None = None):
    """A limit shared by every view decorated with the same scope, counted per rider (`filer()`).

    Attempts count, except refusals by the limit, server errors and a report sent again with the
    `idempotency_key()` of one the server already has (which must be the key the view files with). They
    are counted once answered, so requests of one rider running at the same moment (at most one per
    worker) may pass the limit by that many.
    """
    def exempt() -> bool:
        user = _rider(filer)
        return user is None or (idempotency_key is not None and _replay(user, idempotency_key()))

    return limiter.shared_limit(lambda: current_app.config[setting], scope,
                                key_func=lambda: f"rider:{_rider(filer).id}", exempt_when=exempt,
                                deduct_when=_counted, error_message=message)


def report_limit(filer: Callable = lambda: current_user, idempotency_key: Callable[[], str | None] = _header_key):
    """GRIDSNAP_REPORT_RATE_LIMIT on a view that files a report."""
    return rider_limit("REPORT_RATE_LIMIT", "rider-reports", _too_many_reports, filer=filer,
                       idempotency_key=idempotency_key)


# On the views that add a comment or photos to a report.
comment_limit = rider_limit("COMMENT_RATE_LIMIT", "rider-comments", _too_many_comments)
