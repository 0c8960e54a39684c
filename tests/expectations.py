"""What the tests expect, written out once where more than one test module checks it."""

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import Report, User
from app.summaries.models import ReportBacklogCount

STATUSES = ["submitted", "accepted", "assigned", "in_progress", "resolved", "closed", "rejected", "duplicate"]

# The workflow's moves as the issue states them: from -> {to: what the move needs}
EXPECTED_MOVES = {
    ("submitted", "accepted"): set(),
    ("submitted", "rejected"): {"note"},
    ("submitted", "duplicate"): {"duplicate_of"},
    ("accepted", "assigned"): {"assignee_or_department"},
    ("accepted", "rejected"): {"note"},
    ("accepted", "duplicate"): {"duplicate_of"},
    ("assigned", "in_progress"): set(),
    ("assigned", "resolved"): {"note"},
    ("assigned", "accepted"): set(),  # recalled
    ("in_progress", "resolved"): {"note"},
    ("resolved", "closed"): {"outcome"},  # verified
    ("resolved", "in_progress"): {"note"},  # verification failed
    ("closed", "accepted"): {"note"},  # reopened, a reason is required
    ("rejected", "accepted"): set(),  # reopened
}

OPEN = {"submitted", "accepted", "assigned", "in_progress", "resolved"}


def backlog_from_rows() -> Counter:
    """The open reports per backlog key, counted in Python from the rows (not with the SQL the migration uses)."""
    teams = dict(db.session.execute(select(User.id, User.team_id)).all())
    out: Counter = Counter()
    for r in db.session.scalars(select(Report)):
        if r.status not in OPEN:
            continue
        due = r.accept_due_at if r.status == "submitted" else r.resolve_due_at if r.status != "resolved" else None
        out[
            (r.category_id, r.grid_id or 0, r.department_id or 0, teams[r.user_id] or 0, r.status, int(due is not None))
        ] += 1
    return out


def backlog_counted() -> Counter:
    """What report_backlog_count holds (its non-zero rows)."""
    c = ReportBacklogCount
    return Counter(
        {
            (row.category_id, row.grid_id, row.department_id, row.team_id, row.status, row.dated): row.n
            for row in db.session.scalars(select(c)).all()
            if row.n
        }
    )


# The weekly summary's scenario calendar: 2025-W48 (Mon 24 Nov to Sun 30 Nov 2025) in Shanghai time.
SHANGHAI = ZoneInfo("Asia/Shanghai")
W48_MONDAY = date(2025, 11, 24)


def w48_at(day_offset: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """Local Shanghai time, `day_offset` days after Monday of 2025-W48."""
    d = W48_MONDAY + timedelta(days=day_offset)
    return datetime(d.year, d.month, d.day, hour, minute, second, tzinfo=SHANGHAI)


W48_NOW = w48_at(9, 12)  # Wednesday of the following week: 2025-W48 is complete
