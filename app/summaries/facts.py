"""The facts behind a weekly summary: what SQL counts per (category, grid, department, team) cell.

A week and the week before are counted together, one pass per query; services.py rolls the cells up.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import Integer, and_, case, cast, func, or_, select, text

from app.extensions import db
from app.models import Report, ReportEvent, User
from app.triage.workflow import OPEN_STATUSES, Outcome

R, E, U = Report.__table__, ReportEvent.__table__, User.__table__
OPEN = tuple(s.value for s in OPEN_STATUSES)
WORKING = ("accepted", "assigned", "in_progress")  # the deadline to resolve applies
# Literal, not bound, so SQLite can use the partial index ix_report_open_created.
OPEN_NOW = text("report.status IN ({})".format(", ".join(f"'{s}'" for s in OPEN)))
MOVES = ("accepted", "rejected", "duplicate", "resolved", "closed")
OUTCOMES = tuple(o.value for o in Outcome)
COUNTS = ("received", "accepted", "rejected", "duplicates", "resolved", "closed", "reopened",
          "open_at_end", "overdue_at_end")
IX = {k: i for i, k in enumerate(COUNTS)}
OX = {o: i for i, o in enumerate(OUTCOMES)}
KEYS = (R.c.category_id, R.c.grid_id, R.c.department_id, U.c.team_id)
Key = tuple[Optional[int], Optional[int], Optional[int], Optional[int]]


@dataclass
class Hours:
    """Median and 90th percentile of a set of durations, in hours."""

    median: Optional[float] = None
    p90: Optional[float] = None
    count: int = 0


class _Tally:
    """Counts and durations for one (category, grid, department, team) cell of the week."""

    __slots__ = ("counts", "outcomes", "accept_h", "resolve_h", "accept_met", "resolve_met")

    def __init__(self):
        # Sparse {IX[name]: n} and {OX[outcome]: n}: most cells hold only the backlog's two counts,
        # and rolling thousands of cells up is the service's hot loop.
        self.counts: dict[int, int] = {}
        self.outcomes: dict[int, int] = {}
        self.accept_h: list[float] = []
        self.resolve_h: list[float] = []
        self.accept_met = 0
        self.resolve_met = 0

    def add(self, other: "_Tally") -> None:
        counts = self.counts
        for i, n in other.counts.items():
            counts[i] = counts.get(i, 0) + n
        if other.outcomes:
            for i, n in other.outcomes.items():
                self.outcomes[i] = self.outcomes.get(i, 0) + n
        if other.accept_h:
            self.accept_h.extend(other.accept_h)
            self.accept_met += other.accept_met
        if other.resolve_h:
            self.resolve_h.extend(other.resolve_h)
            self.resolve_met += other.resolve_met

    def bump(self, name: str, n: int = 1) -> None:
        i = IX[name]
        self.counts[i] = self.counts.get(i, 0) + n

    def fill(self, fig):
        """Set a Figures (or subclass) from these counts and durations."""
        for i, k in enumerate(COUNTS):
            setattr(fig, k, self.counts.get(i, 0))
        fig.closed_by_outcome = {o: self.outcomes.get(i, 0) for i, o in enumerate(OUTCOMES)}
        fig.hours_to_accept = hours(self.accept_h)
        fig.hours_to_resolve = hours(self.resolve_h)
        fig.within_deadline_pct = {"accept": pct(self.accept_met, len(self.accept_h)),
                                   "resolve": pct(self.resolve_met, len(self.resolve_h))}
        return fig


def quantile(values: list[float], q: float) -> Optional[float]:
    """The q-quantile by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    v = sorted(values)
    pos = (len(v) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def hours(values: list[float]) -> Hours:
    """Median and p90, rounded to a tenth of an hour."""
    if not values:
        return Hours()
    return Hours(round(quantile(values, 0.5), 1), round(quantile(values, 0.9), 1), len(values))


def pct(part: int, whole: int) -> Optional[float]:
    return round(100.0 * part / whole, 1) if whole else None


def _overdue(status_col, as_of: datetime):
    """1 when a report in `status_col` had passed the deadline that status has, as of `as_of`."""
    return case((or_(and_(status_col == "submitted", R.c.accept_due_at < as_of),
                     and_(status_col.in_(WORKING), R.c.resolve_due_at < as_of)), 1), else_=0)


def _joined(base=R):
    """Reports (or events joined to their reports) with the filing rider, for the team.

    An outer join, though every report has its rider: SQLite keeps the left side as the outer loop,
    so it scans the week's rows by time instead of walking every report of each team member."""
    return base.outerjoin(U, U.c.id == R.c.user_id)


@dataclass(frozen=True)
class _Window:
    """One week to count (UTC bounds) and the moment its backlog is taken."""

    start: datetime
    end: datetime
    as_of: datetime


def _window_of(windows: list[_Window], at: datetime) -> Optional[int]:
    for i, w in enumerate(windows):
        if w.start <= at < w.end:
            return i
    return None


def _received(windows: list[_Window], tallies: list[dict[Key, _Tally]]) -> list:
    """Reports filed in each window: counts per group; the first window's rows (with locations) returned."""
    lo, hi = min(w.start for w in windows), max(w.end for w in windows)
    rows = db.session.execute(select(*KEYS, R.c.created_at, R.c.lat, R.c.lon, R.c.cell).select_from(_joined())
                              .where(R.c.created_at >= lo, R.c.created_at < hi)).all()
    first = []
    for row in rows:
        i = _window_of(windows, row.created_at)
        if i is not None:
            tallies[i][tuple(row[:4])].bump("received")
            if i == 0:
                first.append(row)
    return first


def _int_sum(column):
    """SUM as an integer: PostgreSQL sums a column of sums as NUMERIC (Python Decimal)."""
    return cast(func.sum(column), Integer)


def _moves(windows: list[_Window], tallies: list[dict[Key, _Tally]]) -> None:
    """Reports moved in each window: accepted, rejected, duplicate, resolved, closed by outcome, reopened.

    Each report counts once per measure: first one flag per report and window (a report may be resolved
    twice in a week), then the flags summed per group; cheaper than a COUNT(DISTINCT) per measure."""
    outcome = func.coalesce(E.c.details["outcome"].as_string(), R.c.outcome)
    to, frm = E.c.to_status, E.c.from_status
    measures = {
        "accepted": and_(to == "accepted", frm == "submitted"),
        "rejected": to == "rejected",
        "duplicates": to == "duplicate",
        "resolved": to == "resolved",
        "closed": to == "closed",
        "reopened": and_(to == "accepted", frm.in_(("closed", "rejected"))),
    }
    for o in OUTCOMES:
        measures["outcome:" + o] = and_(to == "closed", outcome == o)
    names = [k.replace(":", "_") for k in measures]
    which = case(*((and_(E.c.created_at >= w.start, E.c.created_at < w.end), i) for i, w in enumerate(windows)))
    per_report = (select(*KEYS, which.label("window"),
                         *(func.max(case((cond, 1), else_=0)).label(n) for n, cond in zip(names, measures.values())))
                  .select_from(_joined(E.join(R, R.c.id == E.c.report_id)))
                  .where(E.c.created_at >= min(w.start for w in windows),
                         E.c.created_at < max(w.end for w in windows), to.in_(MOVES))
                  .group_by(R.c.id, which, *KEYS).subquery())
    keys = [per_report.c[c.name] for c in KEYS]
    q = (select(*keys, per_report.c.window, *(_int_sum(per_report.c[n]).label(n) for n in names))
         .group_by(*keys, per_report.c.window))
    for row in db.session.execute(q):
        if row.window is None:
            continue
        t = tallies[row.window][tuple(row[:4])]
        for name, value in zip(measures, row[5:]):
            if not value:
                continue
            if name.startswith("outcome:"):
                t.outcomes[OX[name[8:]]] = t.outcomes.get(OX[name[8:]], 0) + value
            else:
                t.bump(name, value)


def _durations(windows: list[_Window], tallies: list[dict[Key, _Tally]]) -> list[tuple[str, datetime]]:
    """Hours from filing to acceptance (accepted in the window) and to resolution (first resolved in it);
    the first window's moments, for the counts per day."""
    def met(due):  # a flag, not a datetime to convert per row
        return case((or_(due.is_(None), E.c.created_at <= due), 1), else_=0)

    q = (select(*KEYS, E.c.report_id, E.c.to_status, E.c.created_at, R.c.created_at,
                met(R.c.accept_due_at), met(R.c.resolve_due_at))
         .select_from(_joined(E.join(R, R.c.id == E.c.report_id)))
         .where(E.c.created_at >= min(w.start for w in windows), E.c.created_at < max(w.end for w in windows),
                or_(and_(E.c.to_status == "accepted", E.c.from_status == "submitted"),
                    E.c.to_status == "resolved")))
    first_resolved: dict[tuple[int, int], tuple] = {}
    moments: list[tuple[str, datetime]] = []
    for row in db.session.execute(q):
        key, rid, to, at, filed, accept_met, resolve_met = tuple(row[:4]), *row[4:]
        i = _window_of(windows, at)
        if i is None:
            continue
        if to == "accepted":
            t = tallies[i][key]
            t.accept_h.append((at - filed).total_seconds() / 3600)
            t.accept_met += accept_met
            if i == 0:
                moments.append(("accepted", at))
        elif (i, rid) not in first_resolved or at < first_resolved[i, rid][1]:
            first_resolved[i, rid] = (key, at, filed, resolve_met)
    for (i, _rid), (key, at, filed, resolve_met) in first_resolved.items():
        t = tallies[i][key]
        t.resolve_h.append((at - filed).total_seconds() / 3600)
        t.resolve_met += resolve_met
        if i == 0:
            moments.append(("resolved", at))
    return moments


def _backlog(windows: list[_Window], tallies: list[dict[Key, _Tally]]) -> None:
    """Open and overdue reports as of each window's as_of, from the current status corrected by later moves.

    One pass over the open reports serves every window (the scan is the summary's largest)."""
    cols = []
    for i, w in enumerate(windows):
        before = R.c.created_at < w.as_of
        cols += [func.sum(case((before, 1), else_=0)).label(f"n{i}"),
                 func.sum(case((before, _overdue(R.c.status, w.as_of)), else_=0)).label(f"late{i}")]
    # Grouped by rider first, in the order of ix_report_open_backlog (no sort of every open report),
    # then by team over those far fewer rows.
    by_rider = (select(R.c.category_id, R.c.grid_id, R.c.department_id, R.c.user_id, *cols)
                .where(OPEN_NOW, R.c.created_at < max(w.as_of for w in windows))
                .group_by(R.c.category_id, R.c.grid_id, R.c.department_id, R.c.user_id).subquery())
    keys = (by_rider.c.category_id, by_rider.c.grid_id, by_rider.c.department_id, U.c.team_id)
    now_open = (select(*keys, *(_int_sum(c).label(c.name) for c in list(by_rider.c)[4:]))
                .select_from(by_rider.outerjoin(U, U.c.id == by_rider.c.user_id)).group_by(*keys))
    for row in db.session.execute(now_open):
        for i in range(len(windows)):
            t = tallies[i][tuple(row[:4])]
            t.bump("open_at_end", row[4 + 2 * i] or 0)
            t.bump("overdue_at_end", row[5 + 2 * i] or 0)
    # Reports filed before as_of that moved at or after it: their status at as_of is the from_status of
    # their first such move. Picked in Python from a scan of the events' time index, in time order: a
    # window function partitioned by report makes SQLite walk every event in report order instead.
    # Filing time and deadlines come as 0/1 flags per window (no datetimes to convert), and are not
    # conditions in SQL: one on the filing time would tempt the planner into walking all older reports.
    flags = []
    for w in windows:
        flags += [case((E.c.created_at >= w.as_of, 1), else_=0), case((R.c.created_at < w.as_of, 1), else_=0),
                  case((R.c.accept_due_at < w.as_of, 1), else_=0), case((R.c.resolve_due_at < w.as_of, 1), else_=0)]
    q = (select(*KEYS, E.c.report_id, E.c.from_status, R.c.status, *flags)
         .select_from(_joined(E.join(R, R.c.id == E.c.report_id)))
         .where(E.c.created_at >= min(w.as_of for w in windows), E.c.from_status.is_not(None))
         .order_by(E.c.created_at, E.c.id))
    seen: list[set[int]] = [set() for _w in windows]
    for row in db.session.execute(q):
        for i in range(len(windows)):
            after, filed_before, accept_late, resolve_late = row[7 + 4 * i:11 + 4 * i]
            if not (after and filed_before) or row.report_id in seen[i]:
                continue
            seen[i].add(row.report_id)  # its first move at or after as_of
            t = tallies[i][tuple(row[:4])]
            open_now, open_then = row.status in OPEN, row.from_status in OPEN
            t.bump("open_at_end", open_then - open_now)
            t.bump("overdue_at_end", _late(row.from_status, accept_late, resolve_late)
                   - (_late(row.status, accept_late, resolve_late) if open_now else 0))


def _late(status: str, accept_late: int, resolve_late: int) -> int:
    """What _overdue() says in SQL, given whether each deadline had passed."""
    return accept_late if status == "submitted" else resolve_late if status in WORKING else 0


def _facts(windows: list[_Window]):
    """Tallies per (category, grid, department, team) for each window, with the first window's
    received rows (for hotspots) and moments (for the counts per day)."""
    tallies: list[dict[Key, _Tally]] = [defaultdict(_Tally) for _w in windows]
    received = _received(windows, tallies)
    _moves(windows, tallies)
    moments = _durations(windows, tallies)
    _backlog(windows, tallies)
    return tallies, received, moments
