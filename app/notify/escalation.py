"""Escalation (督办): deadlines passed are recorded on the report and told to the people who must act.

Level 1 at the deadline (the handler and the department's group; the coordinators for a report not yet
accepted), level 2 at twice the time allowed (the coordinators), and for hazards a warning (level 0) at
half the time. Each pass handles the moments crossed since the last pass (a mark in job_mark), so it reads
only the reports whose moment came, through the partial deadline indexes, whatever the table's size; each
level is recorded once per report and deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text

from app.extensions import db
from app.models import Category, Department, Report, ReportEvent, User, status_sql, utcnow
from app.notify.models import JobMark
from app.notify.outbox import notify, staff
from app.triage.workflow import RESOLVE_DEADLINE_STATUSES, Status

JOB = "escalation"
FIRST_LOOK_BACK = timedelta(hours=24)  # a first pass (or a new install) escalates what came due in a day

WARNING, DEADLINE, DOUBLE = 0, 1, 2


@dataclass(frozen=True)
class Escalation:
    """One level of one report's deadline, reached at `at`."""

    report_id: int
    deadline: str  # "accept" or "resolve"
    level: int
    due: datetime
    at: datetime


def _deadlines():
    """(name, due column, statuses it applies to, category hours column) for each deadline."""
    return [
        ("accept", Report.accept_due_at, (Status.SUBMITTED,), Category.accept_hours),
        ("resolve", Report.resolve_due_at, RESOLVE_DEADLINE_STATUSES, Category.resolve_hours),
    ]


def due_between(start: datetime, end: datetime) -> list[Escalation]:
    """Every escalation whose moment falls in (start, end], oldest first."""
    found: list[Escalation] = []
    categories = list(
        db.session.execute(select(Category.id, Category.hazard, Category.accept_hours, Category.resolve_hours))
    )
    for name, column, statuses, _hours in _deadlines():
        # The partial index's predicate word for word: as bound parameters SQLite's planner cannot match it
        # and walks another index (docs/PERFORMANCE.md).
        in_state = text(status_sql(statuses, "report.status"))
        for cat_id, hazard, accept_hours, resolve_hours in categories:
            allowed = timedelta(hours=accept_hours if name == "accept" else resolve_hours)
            offsets = [(DEADLINE, timedelta(0)), (DOUBLE, allowed)]
            if hazard:
                offsets.append((WARNING, -allowed / 2))
            for level, offset in offsets:
                # the moment is due + offset: it falls in (start, end] when due is in (start-offset, end-offset]
                rows = db.session.execute(
                    select(Report.id, column).where(
                        in_state, Report.category_id == cat_id, column > start - offset, column <= end - offset
                    )
                )
                found += [Escalation(rid, name, level, due, due + offset) for rid, due in rows]
    found.sort(key=lambda e: (e.at, e.report_id, e.level))
    return found


def same_instant(recorded: str | None, when: datetime) -> bool:
    """Whether an ISO-8601 moment recorded in an event is `when` (compared as instants: PostgreSQL may hand
    back the same moment in its session's time zone)."""
    try:
        return recorded is not None and datetime.fromisoformat(recorded) == when
    except ValueError:
        return False


def _recorded(e: Escalation) -> bool:
    events = db.session.scalars(
        select(ReportEvent.details).where(ReportEvent.report_id == e.report_id, ReportEvent.kind == "escalated")
    )
    return any(
        d.get("deadline") == e.deadline and d.get("level") == e.level and same_instant(d.get("due"), e.due)
        for d in events
    )


def run_pass(now: datetime | None = None, *, dry_run: bool = False) -> list[Escalation]:
    """Escalate what came due since the last pass (up to `now`); with dry_run, only say what that is.
    The caller commits."""
    now = now or utcnow()
    mark = db.session.get(JobMark, JOB)
    start = mark.ran_until if mark else now - FIRST_LOOK_BACK
    if start >= now:
        return []
    todo = [e for e in due_between(start, now) if not _recorded(e)]
    if dry_run:
        return todo
    for e in todo:
        _escalate(e)
    if mark is None:
        db.session.add(JobMark(name=JOB, ran_until=now))
    else:
        mark.ran_until = now
    db.session.flush()
    return todo


def _escalate(e: Escalation) -> None:
    report = db.session.get(Report, e.report_id)
    db.session.add(
        ReportEvent(
            report_id=report.id,
            kind="escalated",
            created_at=e.at,
            from_status=report.status,
            to_status=report.status,
            details={"level": e.level, "deadline": e.deadline, "due": e.due.isoformat()},
        )
    )
    dept = db.session.get(Department, report.department_id) if report.department_id else None
    handler = [db.session.get(User, report.assignee_id)] if report.assignee_id else []
    # The coordinators act on a report not yet accepted or not yet dispatched, and on anything twice as late
    # as allowed; the handler only while it is in their hands.
    in_hands = report.status in (Status.ASSIGNED.value, Status.IN_PROGRESS.value)
    handler = handler if in_hands else []
    coordinators_act = e.level == DOUBLE or e.deadline == "accept" or report.status == Status.ACCEPTED.value
    users = [*handler, *staff()] if coordinators_act else handler
    kind = "escalation_warning" if e.level == WARNING else "escalated"
    notify(
        kind,
        users=users,
        department=dept,
        report=report,
        hazard=bool(report.category.hazard),
        sms=e.level >= DEADLINE,
        params={"category": report.category.code, "level": e.level, "deadline": e.deadline, "due": e.due.isoformat()},
    )
