"""The rider's confirmation (回访): "Is it fixed?" after a resolve; "not fixed" soon after sends it back once."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import hooks
from app.errors import DomainError, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import CoReporter, Report, ReportEvent, User, utcnow
from app.reports.photos import Upload
from app.triage.workflow import Outcome, Status

REOPEN_WINDOW = timedelta(days=7)  # "not fixed" within a week of the resolve reopens the report
MAX_NOTE = 1000


class Conflict(DomainError):
    status, code = 409, "conflict"


def asks(user: User, report: Report) -> bool:
    """Whether the report page asks this user "Is it fixed?" (its rider or a co-reporter, not yet answered)."""
    return (report.status in (Status.RESOLVED, Status.CLOSED) and report.resolved_at is not None
            and is_follower(user, report) and answer_of(user, report) is None)


def asks_current_user(report: Report) -> bool:
    """asks() for the logged-in user (a template global: the report page shows the card)."""
    from flask_login import current_user
    return bool(current_user.is_authenticated) and asks(current_user, report)


def is_follower(user: User, report: Report) -> bool:
    """The rider who filed it or a co-reporter."""
    return report.user_id == user.id or db.session.get(CoReporter, (report.id, user.id)) is not None


def answer_of(user: User, report: Report) -> Optional[ReportEvent]:
    """This user's answer to the latest resolve, if any."""
    return db.session.scalar(select(ReportEvent).where(
        ReportEvent.report_id == report.id, ReportEvent.kind == "confirmation", ReportEvent.actor_id == user.id,
        ReportEvent.created_at >= report.resolved_at).limit(1)) if report.resolved_at else None


def _reopened_by_rule(report: Report) -> bool:
    return db.session.scalar(select(ReportEvent.id).where(
        ReportEvent.report_id == report.id, ReportEvent.kind == "transition",
        ReportEvent.actor_id.is_(None), ReportEvent.to_status == Status.ACCEPTED.value).limit(1)) is not None


def confirm(report: Report, rider: User, *, fixed, note: str = "", photo: Optional[Upload] = None,
            now: Optional[datetime] = None) -> ReportEvent:
    """Record the rider's answer; "not fixed" within the window moves a resolved (or closed as fixed) report
    back to accepted, once. The caller commits."""
    if not isinstance(fixed, bool):
        raise ValidationFailed(_l("Say whether it is fixed: true or false."), code="invalid_fixed")
    if not is_follower(rider, report):
        raise PermissionDenied(_l("Only the riders who reported it can answer."))
    if report.status not in (Status.RESOLVED, Status.CLOSED) or report.resolved_at is None:
        raise Conflict(_l("This report has not been resolved yet."), code="not_resolved")
    if answer_of(rider, report) is not None:
        raise Conflict(_l("You have already answered for this report."), code="already_confirmed")
    if note is not None and not isinstance(note, str):
        raise ValidationFailed(_l("The note must be text."), code="invalid_note")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(_l("The note is too long (at most %(n)d characters).", n=MAX_NOTE),
                               code="note_too_long")
    from app.reports.services import process_uploads
    processed = process_uploads([photo], 1) if photo else []  # checked before anything is written
    now = now or utcnow()
    reopen = (not fixed and now - report.resolved_at <= REOPEN_WINDOW and not _reopened_by_rule(report)
              and (report.status == Status.RESOLVED or report.outcome == Outcome.FIXED))
    event = ReportEvent(report_id=report.id, actor_id=rider.id, created_at=now, kind="confirmation",
                        from_status=report.status, to_status=report.status, note=note,
                        details={"fixed": fixed, "reopens": reopen})
    db.session.add(event)
    db.session.flush()
    if processed:
        from app.triage.services import attach_photos
        attach_photos(report, event, processed, kind="followup")
    hooks.emit(hooks.CONFIRMED, report, event)
    if reopen:
        from app.triage.services import reopen_by_rule
        reopen_by_rule(report, note or str(_l("The rider says it is not fixed.")),
                       {"by": "confirmation", "rider_id": rider.id}, now=now)
    return event
