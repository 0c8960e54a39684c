"""What a rider has seen: the unread count of each report they follow, and marking one seen."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.auth.access import shared_with_co_reporter
from app.extensions import db
from app.models import CoReporter, Report, ReportEvent, User, utcnow
from app.reports.models import ReportSeen
from app.triage.workflow import Status


def unread_counts(user: User, report_ids: Iterable[int]) -> dict[int, int]:
    """For each report, the events the user may see that others wrote after the user last looked.

    Before a first look the count starts when the user began to follow the report (their own
    report: its filing; a co-reported one: when they joined it). Internal notes never count, nor for a
    co-reporter what is not shared with them.
    """
    ids = sorted({int(i) for i in report_ids})
    counts = dict.fromkeys(ids, 0)
    if not ids:
        return counts
    since = func.coalesce(ReportSeen.seen_at, CoReporter.created_at)
    q = (
        select(ReportEvent.report_id, func.count())
        .outerjoin(ReportSeen, and_(ReportSeen.report_id == ReportEvent.report_id, ReportSeen.user_id == user.id))
        .outerjoin(CoReporter, and_(CoReporter.report_id == ReportEvent.report_id, CoReporter.user_id == user.id))
        .where(
            ReportEvent.report_id.in_(ids),
            ReportEvent.internal.is_(False),
            ReportEvent.kind != Status.SUBMITTED.value,
            or_(ReportEvent.actor_id.is_(None), ReportEvent.actor_id != user.id),
            or_(since.is_(None), ReportEvent.created_at > since),
            or_(CoReporter.user_id.is_(None), shared_with_co_reporter(user.id)),
        )
        .group_by(ReportEvent.report_id)
    )
    for report_id, n in db.session.execute(q):
        counts[report_id] = n
    return counts


def mark_seen(user: User, report: Report, now: datetime | None = None) -> None:
    """Remember that the user has just looked at the report (clears its unread badge)."""
    now = now or utcnow()
    seen = db.session.get(ReportSeen, (user.id, report.id))
    if seen is None:
        try:
            with db.session.begin_nested():  # two tabs opening at once: the second one updates
                db.session.add(ReportSeen(user_id=user.id, report_id=report.id, seen_at=now))
            return
        except IntegrityError:
            seen = db.session.get(ReportSeen, (user.id, report.id))
    seen.seen_at = max(seen.seen_at, now)
    db.session.flush()
