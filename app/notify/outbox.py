"""Writing notifications: who is told what about a move, in the transaction of the move (the caller commits)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import STAFF_ROLES, Department, Report, ReportEvent, User, utcnow
from app.notify.messages import Kind
from app.notify.models import Channel, Delivery, Notification
from app.reports.services import followers
from app.sms import SmsKind
from app.triage.workflow import Status, is_reopen

S = Status
# The kinds that have an approved SMS template (app/sms.py KINDS): a text message says only these.
SMS_KINDS = {
    Kind.DISPATCHED: SmsKind.ASSIGNED,
    Kind.ESCALATED: SmsKind.OVERDUE,
    Kind.RESOLVED: SmsKind.RESOLVED,
}


class Settings:
    """What the outbox needs from the configuration (read once per call, so tests may change it)."""

    def __init__(self, config):
        self.zone = ZoneInfo(config["TIMEZONE"])
        self.quiet = parse_quiet_hours(config["NOTIFY_QUIET_HOURS"])


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """ "22:00-07:00" → (22:00, 07:00); "" or "off" → None."""
    if not text or text.strip().lower() in ("off", "none", "0"):
        return None
    start, _, end = text.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def after_quiet_hours(now: datetime, quiet: tuple[time, time] | None, zone: ZoneInfo) -> datetime:
    """now, or the end of the quiet hours it falls in (local time), as UTC."""
    if quiet is None:
        return now
    start, end = quiet
    local = now.astimezone(zone)
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return now
    morning = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if morning <= local:
        morning = (local + timedelta(days=1)).replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    return morning.astimezone(now.tzinfo)


def notify(
    kind: str,
    *,
    users: Iterable[User] = (),
    department: Department | None = None,
    report: Report | None = None,
    params: dict | None = None,
    hazard: bool = False,
    sms: bool = False,
    config=None,
    now: datetime | None = None,
    outside: bool = True,
) -> list[Notification]:
    """Queue one notification per recipient with its deliveries; outside channels wait out quiet hours
    unless it is a hazard. `sms` marks the kinds that may go by SMS to those who have a number; `outside`
    False keeps it in the app (points: a bell, not an email per report)."""
    from flask import current_app

    settings = Settings(config or current_app.config)
    now = now or utcnow()
    outside_at = now if hazard else after_quiet_hours(now, settings.quiet, settings.zone)
    params = dict(params or {})
    if report is not None:
        params.setdefault("reference", report.reference)
        if report.place and kind not in (Kind.POINTS, Kind.BADGE):
            params.setdefault("place", report.place)
    made, seen = [], set()
    for user in users:
        if user is None or user.id in seen or not user.active:
            continue
        seen.add(user.id)
        n = Notification(
            kind=kind,
            user_id=user.id,
            report_id=report.id if report else None,
            hazard=hazard,
            params=params,
            created_at=now,
        )
        n.deliveries.append(Delivery(channel=Channel.APP.value, next_attempt_at=now, created_at=now))
        off = set(user.notify_off or ())
        if outside and user.notify_email and user.email and f"email:{kind}" not in off:
            n.deliveries.append(Delivery(channel=Channel.EMAIL.value, next_attempt_at=outside_at, created_at=now))
        # A hazard dispatched or overdue reaches its handler's phone whatever they chose.
        chosen = user.notify_sms and f"sms:{kind}" not in off
        if outside and kind in SMS_KINDS and user.phone and (chosen or (sms and hazard and user.is_handler)):
            n.deliveries.append(Delivery(channel=Channel.SMS.value, next_attempt_at=outside_at, created_at=now))
        made.append(n)
    if department is not None and department.webhook_url:
        n = Notification(
            kind=kind,
            department_id=department.id,
            report_id=report.id if report else None,
            hazard=hazard,
            params=params,
            created_at=now,
        )
        n.deliveries.append(Delivery(channel=Channel.ROBOT.value, next_attempt_at=outside_at, created_at=now))
        made.append(n)
    db.session.add_all(made)
    return made


def staff() -> list[User]:
    """Active coordinators and admins."""
    return list(db.session.scalars(select(User).where(User.role.in_(STAFF_ROLES), User.active.is_(True))))


def handlers_of(report: Report) -> list[User]:
    """The handler it is assigned to, else none (the department's group hears of it)."""
    return [db.session.get(User, report.assignee_id)] if report.assignee_id else []


def on_filed(report: Report) -> None:
    """Its rider gets the reference in the app (a report sent from the phone's outbox after the page was closed
    arrives while nobody looks); a new hazard report: the coordinators hear of it at once."""
    notify(Kind.RECEIVED, users=[report.user], report=report, params={"category": report.category.code}, outside=False)
    if report.category.hazard:
        notify(Kind.NEW_HAZARD, users=staff(), report=report, hazard=True, params={"category": report.category.code})


def on_move(report: Report, event: ReportEvent) -> None:
    """Tell the people a move concerns (the defaults of the notification issue)."""
    source, target = Status(event.from_status), Status(event.to_status)
    hazard = bool(report.category.hazard)
    dept = db.session.get(Department, report.department_id) if report.department_id else None
    base = {"category": report.category.code, "to": target.value}
    if target == S.ASSIGNED:
        notify(
            Kind.DISPATCHED,
            users=handlers_of(report),
            department=dept,
            report=report,
            hazard=hazard,
            sms=True,
            params={**base, "due": _iso(report.resolve_due_at)},
        )
    elif target == S.ACCEPTED and source == S.ASSIGNED:
        recalled = (
            db.session.get(User, event.details.get("previous_assignee"))
            if event.details.get("previous_assignee")
            else None
        )
        notify(Kind.RECALLED, users=[recalled], department=dept, report=report, hazard=hazard, params=base)
    elif event.actor_id is None and event.details.get("by") == "confirmation":
        pass  # reopened by a rider's "not fixed": on_confirmed has told everyone
    elif is_reopen(source, target) or (target == S.IN_PROGRESS and source == S.RESOLVED):  # or verification failed
        notify(Kind.REOPENED, users=handlers_of(report), department=dept, report=report, hazard=hazard, params=base)
    if target == S.ACCEPTED and source == S.SUBMITTED:
        notify(Kind.ACCEPTED, users=followers(report), report=report, params=base)
    elif target == S.REJECTED:
        notify(Kind.REJECTED, users=followers(report), report=report, params={**base, "reason": event.note})
    elif target == S.DUPLICATE:
        notify(
            Kind.DUPLICATE,
            users=followers(report),
            report=report,
            params={**base, "original": event.details.get("duplicate_of_reference")},
        )
    elif target == S.RESOLVED:
        notify(Kind.RESOLVED, users=followers(report), report=report, params=base)
    elif target == S.CLOSED:
        notify(
            Kind.CLOSED,
            users=followers(report),
            report=report,
            params={**base, "outcome": event.details.get("outcome")},
        )


def on_confirmed(report: Report, event: ReportEvent) -> None:
    """A rider's "not fixed": the handler, the department's group and the coordinators hear of it; a
    passer-by's "not fixed" is flagged to the coordinators."""
    if event.details.get("fixed"):
        return
    if event.details.get("passer_by"):
        notify(
            Kind.LOOKED_NOT_FIXED,
            users=staff(),
            report=report,
            params={"category": report.category.code, "note": event.note},
        )
        return
    dept = db.session.get(Department, report.department_id) if report.department_id else None
    notify(
        "not_fixed",
        users=[*handlers_of(report), *staff()],
        department=dept,
        report=report,
        hazard=bool(report.category.hazard),
        params={"category": report.category.code, "note": event.note, "reopened": event.details.get("reopens")},
    )


def on_earned(user: User, report: Report, points: int, why: str | None, badges) -> None:
    """A rider's points and each new badge (once per badge), in the app only: a bell, not a message per report."""
    if points > 0:
        notify(Kind.POINTS, users=[user], report=report, params={"points": points, "why": why}, outside=False)
    if not badges:
        return
    told = {
        (n.params or {}).get("badge_code")
        for n in db.session.scalars(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == Kind.BADGE.value)
        )
    }
    for b in badges:
        if b.code not in told:
            notify(
                Kind.BADGE,
                users=[user],
                report=report,
                params={"badge_code": b.code, "badge": b.title_msgid, "badge_rule": b.rule_msgid},
                outside=False,
            )


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None
