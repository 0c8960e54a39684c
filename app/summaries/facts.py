"""The facts behind a weekly summary: what SQL counts per (category, grid, department, team) cell.

A week and the week before are counted together, one pass per query; services.py rolls the cells up.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import NamedTuple

from sqlalchemy import Float, Integer, and_, case, cast, distinct, func, literal, literal_column, or_, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from app.extensions import db
from app.models import Report, ReportEvent, User, status_sql
from app.summaries.models import ReportBacklogCount
from app.triage.workflow import OPEN_STATUSES, REOPEN_SOURCES, RESOLVE_DEADLINE_STATUSES, Outcome, Status

R, E, U = Report.__table__, ReportEvent.__table__, User.__table__
B = ReportBacklogCount.__table__
OPEN = tuple(s.value for s in OPEN_STATUSES)
WORKING = tuple(s.value for s in RESOLVE_DEADLINE_STATUSES)
# The partial indexes' predicates: ix_report_open_created, ix_report_submitted_accept_due,
# ix_report_working_resolve_due.
OPEN_NOW = text(status_sql(OPEN_STATUSES, "report.status"))
SUBMITTED_NOW = text(status_sql((Status.SUBMITTED,), "report.status"))
WORKING_NOW = text(status_sql(RESOLVE_DEADLINE_STATUSES, "report.status"))
MOVES = (
    Status.ACCEPTED.value,
    Status.REJECTED.value,
    Status.DUPLICATE.value,
    Status.RESOLVED.value,
    Status.CLOSED.value,
)
OUTCOMES = tuple(o.value for o in Outcome)
COUNTED = (
    Status.ACCEPTED.value,
    Status.REJECTED.value,
    "duplicates",
    Status.RESOLVED.value,
    Status.CLOSED.value,
    "reopened",
)  # per report and window
COUNTS = (
    "received",
    Status.ACCEPTED.value,
    Status.REJECTED.value,
    "duplicates",
    Status.RESOLVED.value,
    Status.CLOSED.value,
    "reopened",
    "open_at_end",
    "overdue_at_end",
)
IX = {k: i for i, k in enumerate(COUNTS)}
OUTCOME0 = len(COUNTS)  # where Cells count closes by outcome
# _activity's bit per kind of move, and per outcome of a close (a close with none recorded, or one we do
# not know, has its own).
MOVE_BITS = {
    Status.ACCEPTED.value: 1,
    Status.REJECTED.value: 2,
    "duplicates": 4,
    Status.RESOLVED.value: 8,
    Status.CLOSED.value: 16,
    "reopened": 32,
}
OUTCOME_BITS = [64 << i for i in range(len(OUTCOMES))]
UNRECORDED_BIT = 64 << len(OUTCOMES)
CLOSED_BITS = MOVE_BITS[Status.CLOSED.value] | UNRECORDED_BIT | sum(OUTCOME_BITS)
OPEN_AT_END, OVERDUE_AT_END = IX["open_at_end"], IX["overdue_at_end"]
KEYS = (R.c.category_id, R.c.grid_id, R.c.department_id, U.c.team_id)


class Key(NamedTuple):
    """The four things every figure is grouped by (None: no category, outside all grids, ...)."""

    category: int | None
    grid: int | None
    department: int | None
    team: int | None


def part_indexes(*fields: str) -> tuple[int, ...]:
    """The positions of the named parts of a Key, for projector() and the roll-ups."""
    return tuple(Key._fields.index(f) for f in fields)


@dataclass
class Hours:
    """Median and 90th percentile of a set of durations, in hours."""

    median: float | None = None
    p90: float | None = None
    count: int = 0


class _Tally:
    """Counts and durations for one group of the week (a roll-up of Cells)."""

    __slots__ = ("counts", "outcomes", "accept_h", "resolve_h", "accept_met", "resolve_met")

    def __init__(self):
        # Sparse {IX[name]: n} and {index in OUTCOMES: n}.
        self.counts: dict[int, int] = {}
        self.outcomes: dict[int, int] = {}
        self.accept_h: list[float] = []
        self.resolve_h: list[float] = []
        self.accept_met = 0
        self.resolve_met = 0

    def add(self, other: _Tally) -> None:
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

    def add_cell(self, cell: dict[int, int]) -> None:
        """Add one of Cells' per-key counts (closes by outcome from OUTCOME0)."""
        counts, outcomes = self.counts, self.outcomes
        for i, n in cell.items():
            if i < OUTCOME0:
                counts[i] = counts.get(i, 0) + n
            else:
                outcomes[i - OUTCOME0] = outcomes.get(i - OUTCOME0, 0) + n

    def fill(self, fig):
        """Set a Figures (or subclass) from these counts and durations."""
        for i, k in enumerate(COUNTS):
            setattr(fig, k, self.counts.get(i, 0))
        fig.closed_by_outcome = {o: self.outcomes.get(i, 0) for i, o in enumerate(OUTCOMES)}
        fig.hours_to_accept = hours(self.accept_h)
        fig.hours_to_resolve = hours(self.resolve_h)
        fig.within_deadline_pct = {
            "accept": pct(self.accept_met, len(self.accept_h)),
            "resolve": pct(self.resolve_met, len(self.resolve_h)),
        }
        return fig


def projector(index: tuple[int, ...]):
    """key -> the key's parts at `index`, as a tuple (the key of a roll-up)."""
    if not index:
        return lambda key: ()
    if len(index) == 1:
        i = index[0]
        return lambda key: (key[i],)
    return itemgetter(*index)


class Cells:
    """One window's figures per (category, grid, department, team) key, rolled up into _Tally groups."""

    # Plain numbers only (per key a dict of ints: counts by IX, then closes by outcome from OUTCOME0;
    # durations and open counts as tuples): the garbage collector skips such containers, whereas keys of
    # objects and lists made it walk the whole heap during most summaries (docs/PERFORMANCE.md).
    __slots__ = ("counts", "accept", "resolve", "open_now")

    def __init__(self):
        self.counts: dict[Key, dict[int, int]] = {}
        self.accept: list[tuple[Key, float, int]] = []  # hours to acceptance, and 1 if within the deadline
        self.resolve: list[tuple[Key, float, int]] = []
        self.open_now: dict[Key, tuple[int, int]] = {}  # the reports open now (shared by the windows)

    def bump(self, key: Key, i: int, n: int) -> None:
        counts = self.counts.get(key)
        if counts is None:
            self.counts[key] = {i: n}
        else:
            counts[i] = counts.get(i, 0) + n

    def keys(self) -> set:
        return self.counts.keys() | self.open_now.keys()

    def rollups(self, indexes: list[tuple[int, ...]]) -> list[dict[tuple, _Tally]]:
        """The cells summed per the key's parts at each of `indexes` (() for the total), in one pass: every
        key is in some group, with its open and overdue counts even when nothing else happened there."""
        parts = [projector(index) for index in indexes]
        outs: list[dict[tuple, _Tally]] = [defaultdict(_Tally) for _i in indexes]
        groups: dict[Key, list[_Tally]] = {}  # key -> the group it goes to in each roll-up

        def into(key: Key) -> list[_Tally]:
            found = groups.get(key)
            if found is None:
                found = groups[key] = [out[part(key)] for part, out in zip(parts, outs, strict=False)]
            return found

        for key, (open_n, overdue_n) in self.open_now.items():
            for t in into(key):
                counts = t.counts
                counts[OPEN_AT_END] = counts.get(OPEN_AT_END, 0) + open_n
                counts[OVERDUE_AT_END] = counts.get(OVERDUE_AT_END, 0) + overdue_n
        for key, cell in self.counts.items():
            for t in into(key):
                t.add_cell(cell)
        for key, h, met in self.accept:
            for t in into(key):
                t.accept_h.append(h)
                t.accept_met += met
        for key, h, met in self.resolve:
            for t in into(key):
                t.resolve_h.append(h)
                t.resolve_met += met
        return outs

    def total(self) -> _Tally:
        """Everything summed (what rollup(()) gives, without a group per key)."""
        t = _Tally()
        t.counts[OPEN_AT_END] = sum(n for n, _late in self.open_now.values())
        t.counts[OVERDUE_AT_END] = sum(late for _n, late in self.open_now.values())
        for cell in self.counts.values():
            t.add_cell(cell)
        t.accept_h = [h for _key, h, _met in self.accept]
        t.accept_met = sum(met for _key, _h, met in self.accept)
        t.resolve_h = [h for _key, h, _met in self.resolve]
        t.resolve_met = sum(met for _key, _h, met in self.resolve)
        return t


def quantile(values: list[float], q: float) -> float | None:
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


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


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


class hours_between(FunctionElement):
    """Hours from `earlier` to `later`, computed by the database (no datetime built per row in Python).

    Rounded to whole milliseconds on SQLite, whose julianday() arithmetic would otherwise turn 1.25 h into
    1.2499999; PostgreSQL subtracts exactly."""

    type = Float()
    name = "hours_between"
    inherit_cache = True


@compiles(hours_between)
def _hours_between(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION) / 3600.0)"


@compiles(hours_between, "sqlite")
def _hours_between_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(ROUND((julianday({later}) - julianday({earlier})) * 86400000.0) / 3600000.0)"


def _at(moment: datetime):
    """A moment as a bound value of the reports' time type (UTC on every database)."""
    return literal(moment, R.c.created_at.type)


def _window_case(column, windows: list[_Window]):
    return case(*((and_(column >= w.start, column < w.end), i) for i, w in enumerate(windows)))


@dataclass
class Received:
    """The reports filed in the first window, as columns: location (hotspots) and hours after its start."""

    lat: list[float]
    lon: list[float]
    cell: list[int]
    category_id: list[int]
    grid_id: list[int | None]
    h: list[float]


def _received(windows: list[_Window], cells: list[Cells]) -> Received:
    """Reports filed in each window, counted per group; the first window's reports returned."""
    first = windows[0]
    got = Received([], [], [], [], [], [])
    first_cells, received = cells[0], IX["received"]
    for category, grid, department, team, lat, lon, cell, h in db.session.execute(
        select(*KEYS, R.c.lat, R.c.lon, R.c.cell, hours_between(R.c.created_at, _at(first.start)))
        .select_from(_joined())
        .where(R.c.created_at >= first.start, R.c.created_at < first.end)
    ):
        first_cells.bump(Key(category, grid, department, team), received, 1)
        got.lat.append(lat)
        got.lon.append(lon)
        got.cell.append(cell)
        got.category_id.append(category)
        got.grid_id.append(grid)
        got.h.append(h)
    for i, w in enumerate(windows[1:], start=1):
        for row in db.session.execute(
            select(*KEYS, func.count())
            .select_from(_joined())
            .where(R.c.created_at >= w.start, R.c.created_at < w.end)
            .group_by(*KEYS)
        ):
            cells[i].bump(Key(*row[:4]), received, row[4])
    return got


def _int_sum(column):
    """SUM as an integer: PostgreSQL sums a column of sums as NUMERIC (Python Decimal)."""
    return cast(func.sum(column), Integer)


def _activity(windows: list[_Window], cells: list[Cells]) -> dict[str, list[float]]:
    """What moved in each window: accepted, rejected, duplicate, resolved, closed by outcome, reopened, and
    the hours from filing to acceptance (accepted in the window) and to resolution (first resolved in it).

    One pass over the windows' events, grouped per report and window first (each report counts once per
    measure, and its first resolution is the one timed), then joined to the far fewer reports. Returns
    the first window's moments per kind ("accepted", "resolved") as hours after its start, for the counts
    per day."""
    to, frm, at = E.c.to_status, E.c.from_status, E.c.created_at
    outcome = E.c.details["outcome"].as_string()
    accepted = and_(to == Status.ACCEPTED.value, frm == Status.SUBMITTED.value)
    # Each move is one bit; SUM(DISTINCT bit) over a report's moves in a window is the OR of its kinds of
    # move (a third cheaper than one MAX(CASE) per kind on SQLite). A close's bit says its outcome as
    # recorded (or none recorded: the report's own outcome is then taken).
    bit = case(
        (accepted, MOVE_BITS[Status.ACCEPTED.value]),
        (
            and_(to == Status.ACCEPTED.value, frm.in_([s.value for s in REOPEN_SOURCES])),
            MOVE_BITS["reopened"],
        ),
        (to == Status.REJECTED.value, MOVE_BITS[Status.REJECTED.value]),
        (to == Status.DUPLICATE.value, MOVE_BITS["duplicates"]),
        (to == Status.RESOLVED.value, MOVE_BITS[Status.RESOLVED.value]),
        (and_(to == Status.CLOSED.value, outcome.is_(None)), UNRECORDED_BIT),
        *((and_(to == Status.CLOSED.value, outcome == o), OUTCOME_BITS[i]) for i, o in enumerate(OUTCOMES)),
        (to == Status.CLOSED.value, MOVE_BITS[Status.CLOSED.value]),  # an outcome we do not know
        else_=0,
    )
    window = _window_case(at, windows)  # one expression object: PostgreSQL matches it with the GROUP BY
    per_report = (
        select(
            E.c.report_id,
            window.label("window"),
            _int_sum(distinct(bit)).label("moves"),
            func.min(case((accepted, at))).label("accepted_at"),
            func.min(case((to == Status.RESOLVED.value, at))).label("resolved_at"),
        )
        .where(
            at >= min(w.start for w in windows),
            at < max(w.end for w in windows),
            to.in_(MOVES),
            E.c.kind == "transition",
        )  # comments and edits repeat the status: not moves
        .group_by(E.c.report_id, window)
        .subquery()
    )
    p = per_report.c

    def met(moment, due):  # a flag, not a datetime to convert per row
        return case((moment.is_(None), None), (or_(due.is_(None), moment <= due), 1), else_=0)

    start0 = _at(windows[0].start)
    q = select(
        *KEYS,
        p.window,
        p.moves,
        R.c.outcome,
        hours_between(p.accepted_at, R.c.created_at),
        met(p.accepted_at, R.c.accept_due_at),
        hours_between(p.accepted_at, start0),
        hours_between(p.resolved_at, R.c.created_at),
        met(p.resolved_at, R.c.resolve_due_at),
        hours_between(p.resolved_at, start0),
    ).select_from(per_report.join(R, R.c.id == p.report_id).outerjoin(U, U.c.id == R.c.user_id))
    accepted_at: list[float] = []
    resolved_at: list[float] = []
    counted = [(MOVE_BITS[n] if n != Status.CLOSED.value else CLOSED_BITS, IX[n]) for n in COUNTED]
    outcomes = [(OUTCOME_BITS[i], OUTCOME0 + i, o) for i, o in enumerate(OUTCOMES)]
    for row in db.session.execute(q):
        window = row[4]
        if window is None:
            continue
        key, c, moves, outcome_now = Key(*row[:4]), cells[window], row[5], row[6]
        counts = c.counts.get(key)
        if counts is None:
            counts = c.counts[key] = {}
        for mask, i in counted:
            if moves & mask:
                counts[i] = counts.get(i, 0) + 1
        if moves & CLOSED_BITS:
            for mask, i, o in outcomes:
                if moves & mask or (moves & UNRECORDED_BIT and outcome_now == o):
                    counts[i] = counts.get(i, 0) + 1
        accept_h, accept_met, accept_at, resolve_h, resolve_met, resolve_at = row[7:]
        if accept_h is not None:
            c.accept.append((key, accept_h, accept_met))
            if window == 0:
                accepted_at.append(accept_at)
        if resolve_h is not None:
            c.resolve.append((key, resolve_h, resolve_met))
            if window == 0:
                resolved_at.append(resolve_at)
    return {Status.ACCEPTED.value: accepted_at, Status.RESOLVED.value: resolved_at}


def _backlog(windows: list[_Window], cells: list[Cells]) -> None:
    """Open and overdue reports as of each window's as_of.

    From the reports open now (report_backlog_count, kept by triggers: ~20,000 rows where reading every
    open report's index entry took most of the summary's time), less the ones not yet filed at as_of and,
    for overdue, less the ones whose deadline had not come by then (both indexed: a few thousand for a
    recent week); then corrected by the moves since as_of (_moved_since)."""
    late_able = and_(B.c.dated == 1, B.c.status.in_((Status.SUBMITTED.value,) + WORKING))
    groups = (B.c.category_id, B.c.grid_id, B.c.department_id, B.c.team_id)
    now_open = (
        select(*groups, _int_sum(B.c.n), _int_sum(case((late_able, B.c.n), else_=0)))
        .where(B.c.n != 0)
        .group_by(*groups)
    )
    open_now = {
        Key(c or None, g or None, d or None, t or None): (n, late)  # the counts write "none" as 0
        for c, g, d, t, n, late in db.session.execute(now_open)
    }
    for c in cells:
        c.open_now = open_now
    earliest = min(w.as_of for w in windows)
    cols = []
    for i, w in enumerate(windows):
        after = R.c.created_at >= w.as_of
        cols += [
            func.sum(case((after, 1), else_=0)).label(f"filed_after{i}"),
            func.sum(case((and_(after, Report.overdue_clause(w.as_of)), 1), else_=0)).label(f"late_after{i}"),
        ]
    filed_after = (
        select(*KEYS, *cols).select_from(_joined()).where(OPEN_NOW, R.c.created_at >= earliest).group_by(*KEYS)
    )
    for row in db.session.execute(filed_after):
        key = Key(*row[:4])
        for i, c in enumerate(cells):
            c.bump(key, OPEN_AT_END, -row[4 + 2 * i])
            c.bump(key, OVERDUE_AT_END, -row[5 + 2 * i])
    for status_now, due in ((SUBMITTED_NOW, R.c.accept_due_at), (WORKING_NOW, R.c.resolve_due_at)):
        not_due = (
            select(
                *KEYS,
                *(func.sum(case((due >= w.as_of, 1), else_=0)).label(f"not_due{i}") for i, w in enumerate(windows)),
            )
            .select_from(_joined())
            .where(status_now, due >= earliest)
            .group_by(*KEYS)
        )
        for row in db.session.execute(not_due):
            key = Key(*row[:4])
            for i, c in enumerate(cells):
                c.bump(key, OVERDUE_AT_END, -row[4 + i])
    _moved_since(windows, cells)


def _moved_since(windows: list[_Window], cells: list[Cells]) -> None:
    """Correct each window's backlog for the reports filed before its as_of that moved at or after it.

    A report's moves telescope: what the moves since as_of changed (to_status less from_status: open,
    submitted, working) is its status now less its status then. These changes are summed per report
    from the events alone (ix_event_created_moves covers them, and both windows are read in one pass),
    the reports whose moves cancel out are dropped, and only the rest are joined to their reports for
    the group and deadlines: about as many as were open then and are not now, where taking each
    report's first move since as_of and joining it back to its event read every report that moved."""
    to, frm = E.c.to_status, E.c.from_status
    submitted = Status.SUBMITTED.value

    def change(values):  # +1 into the set, -1 out of it, 0 within or outside it
        return case((to.in_(values), 1), else_=0) - case((frm.in_(values), 1), else_=0)

    changes = {"open": change(OPEN), "unaccepted": change((submitted,)), "working": change(WORKING)}
    # Grouped by report_id + 0, not report_id: given the bare column, SQLite walks every event in report
    # order (ix_event_report_created saves it a sort) instead of the few since as_of by time.
    report = (E.c.report_id + literal_column("0")).label("report_id")
    sums, cols = [], []
    for i, w in enumerate(windows):
        since = E.c.created_at >= _at(w.as_of)
        for name, delta in changes.items():
            total = _int_sum(case((since, delta), else_=0))
            sums.append(total)
            cols.append(total.label(f"{name}{i}"))
    per_report = (
        select(report, *cols)
        .where(E.c.created_at >= _at(min(w.as_of for w in windows)), E.c.kind == "transition")
        .group_by(report)
        .having(or_(*(total != 0 for total in sums)))
        .subquery()
    )
    p = per_report.c
    out = []
    for i, w in enumerate(windows):
        at = _at(w.as_of)
        filed = R.c.created_at < at
        late = case((R.c.accept_due_at < at, p[f"unaccepted{i}"]), else_=0) + case(
            (R.c.resolve_due_at < at, p[f"working{i}"]), else_=0
        )
        out += [_int_sum(case((filed, p[f"open{i}"]), else_=0)), _int_sum(case((filed, late), else_=0))]
    q = (
        select(*KEYS, *out)
        .select_from(per_report.join(R, R.c.id == p.report_id).outerjoin(U, U.c.id == R.c.user_id))
        .where(R.c.created_at < _at(max(w.as_of for w in windows)))
        .group_by(*KEYS)
    )
    for row in db.session.execute(q):
        key = Key(*row[:4])
        for i, c in enumerate(cells):
            c.bump(key, OPEN_AT_END, -(row[4 + 2 * i] or 0))
            c.bump(key, OVERDUE_AT_END, -(row[5 + 2 * i] or 0))


def _backlog_forward(windows: list[_Window], cells: list[Cells]) -> None:
    """Open and overdue reports as of each window's as_of, counted forward from the filings: every report
    starts submitted (open; overdue once its accept deadline has passed) and each move before as_of adds
    what it changes (to_status open minus from_status open, and the same for overdue, each status
    measured against its own deadline at as_of). The moves telescope to the status at as_of.

    What _backlog finds backward from the reports open now, for a week far back: its cost is the events
    before as_of, where _backlog's is the events since (a year back: seconds either way, the half less)."""
    to, frm = E.c.to_status, E.c.from_status
    submitted = Status.SUBMITTED.value
    latest = max(w.as_of for w in windows)

    def late(status, moment):
        return case(
            (and_(status == submitted, R.c.accept_due_at < moment), 1),
            (and_(status.in_(WORKING), R.c.resolve_due_at < moment), 1),
            else_=0,
        )

    opened = case((to.in_(OPEN), 1), else_=0) - case((frm.in_(OPEN), 1), else_=0)
    cols = []
    for w in windows:
        at = _at(w.as_of)
        before = E.c.created_at < at
        cols += [
            _int_sum(case((before, opened), else_=0)),
            _int_sum(case((before, late(to, at) - late(frm, at)), else_=0)),
        ]
    moves = (
        select(*KEYS, *cols)
        .select_from(E.join(R, R.c.id == E.c.report_id).outerjoin(U, U.c.id == R.c.user_id))
        .where(E.c.created_at < _at(latest), E.c.kind == "transition")
        .group_by(*KEYS)
    )
    filed_cols = []
    for w in windows:
        at = _at(w.as_of)
        filed_cols += [
            _int_sum(case((R.c.created_at < at, 1), else_=0)),
            _int_sum(case((and_(R.c.created_at < at, R.c.accept_due_at < at), 1), else_=0)),
        ]
    filed = select(*KEYS, *filed_cols).select_from(_joined()).where(R.c.created_at < _at(latest)).group_by(*KEYS)
    for c in cells:
        c.open_now = {}
    for query in (filed, moves):
        for row in db.session.execute(query):
            key = Key(*row[:4])
            for i, c in enumerate(cells):
                c.bump(key, OPEN_AT_END, row[4 + 2 * i] or 0)
                c.bump(key, OVERDUE_AT_END, row[5 + 2 * i] or 0)


def _forward_is_cheaper(windows: list[_Window], now: datetime) -> bool:
    """Whether fewer events lie before the windows' moments than after them (judged by time)."""
    first = db.session.scalar(select(func.min(R.c.created_at)))
    if first is None:
        return False
    first = first if first.tzinfo else first.replace(tzinfo=UTC)
    return max(w.as_of for w in windows) - first < now - min(w.as_of for w in windows)


def _drop_empty(cells: Cells) -> None:
    """Forget the keys where nothing happened and nothing was open (both ways of counting the backlog can
    leave some at zero: a group's only open report filed after as_of, say), so neither shows empty groups."""
    timed = {key for key, _h, _m in cells.accept} | {key for key, _h, _m in cells.resolve}
    open_now = dict(cells.open_now)
    for key in cells.keys():
        if key in timed:
            continue
        base = open_now.get(key, (0, 0))
        counts = cells.counts.get(key, {})
        if (
            base[0] + counts.get(OPEN_AT_END, 0) == 0
            and base[1] + counts.get(OVERDUE_AT_END, 0) == 0
            and not any(n for i, n in counts.items() if i not in (OPEN_AT_END, OVERDUE_AT_END))
        ):
            cells.counts.pop(key, None)
            open_now.pop(key, None)
    cells.open_now = open_now


def _facts(windows: list[_Window], now: datetime | None = None, forward: bool | None = None, walk=None):
    """Cells per (category, grid, department, team) for each window, with the first window's
    reports received (for hotspots and the counts per day) and moments (for the counts per day).
    The backlog is counted backward from now or forward from the first filing, whichever reads fewer
    events (`forward` forces one way), unless a back-fill's BacklogWalk is given: then its backlog is
    carried, and a later window it counted last (the week before the one published before) is not
    counted again; the first window's cells are kept for the next."""
    known = walk.counted if walk is not None and walk.counted is not None else (None, None)
    todo = [w for w in windows if w != known[0] or w == windows[0]]
    cells = [Cells() for _w in todo]
    received = _received(todo, cells)
    moments = _activity(todo, cells)
    if walk is not None:
        backlog = walk.backlog
    else:
        if forward is None:
            forward = _forward_is_cheaper(windows, now or datetime.now(UTC))
        backlog = _backlog_forward if forward else _backlog
    backlog(todo, cells)
    for c in cells:
        _drop_empty(c)
    counted = dict(zip(todo, cells, strict=True))
    if walk is not None:
        walk.counted = (windows[0], counted[windows[0]])
    return [counted.get(w, known[1]) for w in windows], received, moments
