"""The rider's confirmation (回访): "Is it fixed?" after a resolve; "not fixed" soon after sends it back once."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select

from app import hooks
from app.errors import DomainError, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import CoReporter, Report, ReportEvent, User, utcnow
from app.reports.geo import cells_near, distance_m, valid_location
from app.reports.photos import Upload
from app.triage.workflow import Outcome, Status

REOPEN_WINDOW = timedelta(days=7)  # "not fixed" within a week of the resolve reopens the report
MAX_NOTE = 1000


class Conflict(DomainError):
    status, code = 409, "conflict"


def asks(user: User, report: Report) -> bool:
    """Whether the report page asks this user "Is it fixed?" (its rider or a co-reporter, not yet answered)."""
    return (
        report.status in (Status.RESOLVED, Status.CLOSED)
        and report.resolved_at is not None
        and is_follower(user, report)
        and answer_of(user, report) is None
    )


def asks_current_user(report: Report) -> bool:
    """asks() for the logged-in user (a template global: the report page shows the card)."""
    from flask_login import current_user

    return bool(current_user.is_authenticated) and asks(current_user, report)


def is_follower(user: User, report: Report) -> bool:
    """The rider who filed it or a co-reporter."""
    return report.user_id == user.id or db.session.get(CoReporter, (report.id, user.id)) is not None


def answer_of(user: User, report: Report) -> ReportEvent | None:
    """This user's answer to the latest resolve, if any."""
    return (
        db.session.scalar(
            select(ReportEvent)
            .where(
                ReportEvent.report_id == report.id,
                ReportEvent.kind == "confirmation",
                ReportEvent.actor_id == user.id,
                ReportEvent.created_at >= report.resolved_at,
            )
            .limit(1)
        )
        if report.resolved_at
        else None
    )


def _clean(note) -> str:
    if note is not None and not isinstance(note, str):
        raise ValidationFailed(_l("The note must be text."), code="invalid_note")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(_l("The note is too long (at most %(n)d characters).", n=MAX_NOTE), code="note_too_long")
    return note


def _reopened_by_rule(report: Report) -> bool:
    return (
        db.session.scalar(
            select(ReportEvent.id)
            .where(
                ReportEvent.report_id == report.id,
                ReportEvent.kind == "transition",
                ReportEvent.actor_id.is_(None),
                ReportEvent.to_status == Status.ACCEPTED.value,
            )
            .limit(1)
        )
        is not None
    )


def confirm(
    report: Report, rider: User, *, fixed, note: str = "", photo: Upload | None = None, now: datetime | None = None
) -> ReportEvent:
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
    note = _clean(note)
    from app.reports.services import process_uploads

    processed = process_uploads([photo], 1) if photo else []  # checked before anything is written
    now = now or utcnow()
    reopen = (
        not fixed
        and now - report.resolved_at <= REOPEN_WINDOW
        and not _reopened_by_rule(report)
        and (report.status == Status.RESOLVED or report.outcome == Outcome.FIXED)
    )
    event = ReportEvent(
        report_id=report.id,
        actor_id=rider.id,
        created_at=now,
        kind="confirmation",
        from_status=report.status,
        to_status=report.status,
        note=note,
        details={"fixed": fixed, "reopens": reopen},
    )
    db.session.add(event)
    db.session.flush()
    if processed:
        from app.triage.services import attach_photos

        attach_photos(report, event, processed, kind="followup")
    hooks.emit(hooks.CONFIRMED, report, event)
    if reopen:
        from app.triage.services import reopen_by_rule

        reopen_by_rule(
            report,
            note or str(_l("The rider says it is not fixed.")),
            {"by": "confirmation", "rider_id": rider.id},
            now=now,
        )
    return event


# -- passers-by ("Fixed? Take a look") ---------------------------------------------------------------

PASSER_BY_RADIUS_M = 200  # a rider this close to a report resolved lately is asked to take a look
PASSER_BY_DAYS = 14


def _looked_at(rider_id: int, report_ids: list[int]) -> set[int]:
    """The reports among these that this rider has already looked at as a passer-by (since its latest resolve)."""
    if not report_ids:
        return set()
    rows = db.session.execute(
        select(ReportEvent.report_id, ReportEvent.created_at, Report.resolved_at)
        .join(Report, Report.id == ReportEvent.report_id)
        .where(
            ReportEvent.actor_id == rider_id,
            ReportEvent.kind == "verification",
            ReportEvent.report_id.in_(report_ids),
        )
    )
    return {rid for rid, at, resolved in rows if resolved is None or at >= resolved}


def _fixed_lately(now: datetime):
    """SQL: resolved, or closed as fixed, within PASSER_BY_DAYS of now."""
    from sqlalchemy import or_

    return and_(
        Report.resolved_at >= now - timedelta(days=PASSER_BY_DAYS),
        or_(Report.status == Status.RESOLVED.value, Report.fixed_clause()),
    )


def resolved_nearby(
    rider: User, lat, lon, *, now: datetime | None = None, limit: int = 3
) -> list[tuple[Report, float]]:
    """Reports resolved (or closed as fixed) in the last PASSER_BY_DAYS within PASSER_BY_RADIUS_M of the rider,
    nearest first: not their own, not one they co-report, not one they already looked at."""
    lat, lon = _position(lat, lon)
    now = now or utcnow()
    rows = db.session.scalars(
        select(Report).where(
            Report.cell.in_(cells_near(lat, lon, PASSER_BY_RADIUS_M)),
            _fixed_lately(now),
            Report.user_id != rider.id,
        )
    ).all()
    found = []
    for r in rows:
        d = distance_m((lat, lon), (r.lat, r.lon))
        if d <= PASSER_BY_RADIUS_M and not is_follower(rider, r):
            found.append((r, d))
    done = _looked_at(rider.id, [r.id for r, _d in found])
    found = [(r, d) for r, d in found if r.id not in done]
    found.sort(key=lambda pair: (pair[1], pair[0].id))
    return found[:limit]


def _position(lat, lon) -> tuple[float, float]:
    if lat in (None, "") or lon in (None, ""):
        raise ValidationFailed(_l("We need your location to show what was fixed near you."), code="location_required")
    if not valid_location(lat, lon):
        raise ValidationFailed(_l("The location is out of range."), code="invalid_location")
    return float(lat), float(lon)


def look(
    report: Report,
    rider: User,
    *,
    fixed,
    lat,
    lon,
    note: str = "",
    photo: Upload | None = None,
    now: datetime | None = None,
) -> ReportEvent:
    """A passer-by's answer to "Fixed? Take a look": a verification event (points under the points rules, never
    for one's own report). "Not fixed" flags the report to the coordinators; it reopens nothing by itself.
    The caller commits."""
    if not isinstance(fixed, bool):
        raise ValidationFailed(_l("Say whether it is fixed: true or false."), code="invalid_fixed")
    if not rider.is_rider:
        raise PermissionDenied(_l("Only riders take a look at fixed reports."))
    if is_follower(rider, report):
        raise PermissionDenied(_l("This is your own report: answer “Is it fixed?” on its page."), code="own_report")
    now = now or utcnow()
    if db.session.scalar(select(Report.id).where(Report.id == report.id, _fixed_lately(now))) is None:
        raise Conflict(_l("This report was not fixed in the last %(n)d days.", n=PASSER_BY_DAYS), code="not_resolved")
    lat, lon = _position(lat, lon)
    away = distance_m((lat, lon), (report.lat, report.lon))
    if away > PASSER_BY_RADIUS_M:
        raise ValidationFailed(
            _l("You are %(d)d m away: come within %(n)d m to take a look.", d=round(away), n=PASSER_BY_RADIUS_M),
            code="too_far",
        )
    if report.id in _looked_at(rider.id, [report.id]):
        raise Conflict(_l("You have already answered for this report."), code="already_verified")
    note = _clean(note)
    from app.reports.services import process_uploads

    processed = process_uploads([photo], 1) if photo else []  # checked before anything is written
    event = ReportEvent(
        report_id=report.id,
        actor_id=rider.id,
        created_at=now,
        kind="verification",
        from_status=report.status,
        to_status=report.status,
        note=note,
        internal=True,  # another rider's look: the staff's, not the reporter's, timeline
        details={"fixed": fixed, "passer_by": True, "distance_m": round(away)},
    )
    db.session.add(event)
    db.session.flush()
    if processed:
        from app.triage.services import attach_photos

        attach_photos(report, event, processed, kind="followup")
    hooks.emit(hooks.CONFIRMED, report, event)
    return event
