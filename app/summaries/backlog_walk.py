"""The backlog of week after week for a back-fill: the reports open at one moment carried forward by the
week's filings and moves, instead of counted again from the whole history for every week.

Each publish of a back-fill needs the open and overdue reports per (category, grid, department, team) at
the end of its week and of the week before. Counted afresh (facts._backlog or _backlog_forward), a week a
year back reads half of all events; carried, a week reads its own (~20,000 at a million reports). The
figures are the same: a report starts submitted, its status at a moment is the to_status of its last move
before it (what the first move after it left, facts._moved_since), and it is grouped and measured against
its deadlines as it is now, as there.

The counts per group are kept up to date as reports change (a week touches ~20,000 of the ~220,000 open
ones), and a report becomes overdue when its deadline passes: the deadlines still to come wait in a heap.
Each open report is a tuple of plain values (its group too: a plain tuple, not a Key), not a list: the garbage
collector stops tracking those (~170,000 fewer objects for each of its full passes to walk).
The walk also keeps the last week counted (facts.Cells), which the next week's publish shows as "the week
before": each week's reports and moves are read once.
"""

from __future__ import annotations

import heapq
from datetime import UTC, datetime

from sqlalchemy import and_, func, select

from app.extensions import db
from app.summaries.facts import (
    KEYS,
    OPEN,
    OPEN_AT_END,
    OPEN_NOW,
    OVERDUE_AT_END,
    WORKING,
    Cells,
    E,
    Key,
    R,
    _at,
    _joined,
)
from app.triage.workflow import Status

SUBMITTED = Status.SUBMITTED.value
# An open report's entry (a tuple): its group, status, deadlines, and whether it is counted overdue now.
KEY, STATUS, ACCEPT, RESOLVE, LATE = range(5)


def _deadline(entry: tuple) -> datetime | None:
    """The deadline an open report in its status is measured against (None: none, e.g. resolved)."""
    if entry[STATUS] == SUBMITTED:
        return entry[ACCEPT]
    if entry[STATUS] in WORKING:
        return entry[RESOLVE]
    return None


class BacklogWalk:
    """The open reports at a moment (id -> (key, status, accept due, resolve due, overdue)) and their counts
    per key, moved forward in time."""

    def __init__(self, at: datetime, now: datetime | None = None):
        self.at = at
        self.open: dict[int, tuple] = {}
        self.counts: dict[tuple, list[int]] = {}  # (category, grid, department, team) -> [open, overdue] at self.at
        self.due: list[tuple[datetime, int]] = []  # (deadline, id) of open reports not overdue at self.at
        self.tallies: dict[datetime, dict[Key, tuple[int, int]]] = {}
        self.counted: tuple | None = None  # (facts._Window, Cells) of the last week counted
        first = db.session.scalar(select(func.min(R.c.created_at)))
        if first is not None and first.tzinfo is None:  # SQLite hands back naive UTC
            first = first.replace(tzinfo=UTC)
        if first is not None and (at - first) * 2 > (now or datetime.now(UTC)) - at:
            self._load_back(at)  # a back-fill resumed late in the history
        else:
            self._load(at)
        heapq.heapify(self.due)
        self.tallies[at] = self._tally()

    def _load(self, at: datetime) -> None:
        """The reports filed before `at` open then: each one's last move before it (none: submitted). A seek
        per report filed before `at` (~15 µs each: 10 s a year and a half into a million reports)."""
        last = (
            select(E.c.to_status)
            .where(E.c.report_id == R.c.id, E.c.kind == "transition", E.c.created_at < _at(at))
            .order_by(E.c.created_at.desc(), E.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        q = select(R.c.id, *KEYS, func.coalesce(last, SUBMITTED), R.c.accept_due_at, R.c.resolve_due_at)
        for rid, c, g, d, t, status, accept, resolve in db.session.execute(
            q.select_from(_joined()).where(R.c.created_at < _at(at))
        ):
            self._add(rid, ((c, g, d, t), status, accept, resolve, False), at)

    def _load_back(self, at: datetime) -> None:
        """The same from the reports open now: a report that moved at or after `at` was then in the
        from_status of its first move since (as facts._moved_since counts). Reads the moves since `at` from
        their index (~1 µs each), the open reports and, by id, those open then and closed since."""
        then: dict[int, str | None] = {}
        for rid, frm in db.session.execute(
            select(E.c.report_id, E.c.from_status)
            .where(E.c.created_at >= _at(at), E.c.kind == "transition")
            .order_by(E.c.created_at, E.c.id)
        ):
            if rid not in then:
                then[rid] = frm
        for rid, c, g, d, t, status, accept, resolve in db.session.execute(
            select(R.c.id, *KEYS, R.c.status, R.c.accept_due_at, R.c.resolve_due_at)
            .select_from(_joined())
            .where(OPEN_NOW, R.c.created_at < _at(at))
        ):
            self._add(rid, ((c, g, d, t), then.pop(rid, status), accept, resolve, False), at)
        for rid in db.session.scalars(select(R.c.id).where(R.c.created_at >= _at(at))):
            then.pop(rid, None)  # filed since: not there then
        ids = sorted(rid for rid, status in then.items() if status in OPEN)
        for i in range(0, len(ids), 500):
            for rid, c, g, d, t, accept, resolve in db.session.execute(
                select(R.c.id, *KEYS, R.c.accept_due_at, R.c.resolve_due_at)
                .select_from(_joined())
                .where(R.c.id.in_(ids[i : i + 500]))
            ):
                self._add(rid, ((c, g, d, t), then[rid], accept, resolve, False), at)

    def _add(self, rid: int, entry: tuple, at: datetime) -> None:
        """A report as loaded: counted when open then, its deadline queued when still to come."""
        if entry[STATUS] in OPEN:
            due = self._count(rid, entry, at)
            if due is not None:
                self.due.append((due, rid))  # heapified once loaded

    def _count(self, rid: int, entry: tuple, at: datetime) -> datetime | None:
        """Add an open report to the counts as of `at`; returns its deadline when still to come then."""
        due = _deadline(entry)
        late = due is not None and due < at
        self.open[rid] = (*entry[:LATE], late)
        counts = self.counts.get(entry[KEY])
        if counts is None:
            counts = self.counts[entry[KEY]] = [0, 0]
        counts[0] += 1
        counts[1] += late
        return due if due is not None and not late else None

    def advance(self, to: datetime) -> None:
        """Move to a later moment: add the reports filed meanwhile (submitted), apply the moves in order, then
        count again the reports they touched and those whose deadline passed."""
        if to <= self.at:
            return
        start, end = _at(self.at), _at(to)
        before: dict[int, tuple | None] = {}  # each touched report's (key, overdue) as counted, None: not open

        def touch(rid: int) -> tuple | None:
            entry = self.open.get(rid)
            if rid not in before:
                before[rid] = (entry[KEY], entry[LATE]) if entry is not None else None
            return entry

        for rid, c, g, d, t, accept, resolve in db.session.execute(
            select(R.c.id, *KEYS, R.c.accept_due_at, R.c.resolve_due_at)
            .select_from(_joined())
            .where(R.c.created_at >= start, R.c.created_at < end)
        ):
            touch(rid)
            self.open[rid] = ((c, g, d, t), SUBMITTED, accept, resolve, False)
        reopened = set()
        for rid, status in db.session.execute(
            select(E.c.report_id, E.c.to_status)
            .where(E.c.created_at >= start, E.c.created_at < end, E.c.kind == "transition")
            .order_by(E.c.created_at, E.c.id)
        ):
            entry = touch(rid)
            if status not in OPEN:
                self.open.pop(rid, None)
                reopened.discard(rid)
            elif entry is not None:
                self.open[rid] = (entry[KEY], status, entry[ACCEPT], entry[RESOLVE], entry[LATE])
            else:  # reopened: closed (so not carried) before this stretch
                self.open[rid] = (None, status, None, None, False)
                reopened.add(rid)
        self._fill(sorted(reopened))
        self._recount(before, to)
        self.at = to
        self.tallies[to] = self._tally()
        for old in sorted(self.tallies)[:-2]:  # a week needs its end and the end of the week before
            del self.tallies[old]

    def _fill(self, ids: list[int]) -> None:
        """The group and deadlines of reports reopened (not carried while closed)."""
        for i in range(0, len(ids), 500):
            for rid, c, g, d, t, accept, resolve in db.session.execute(
                select(R.c.id, *KEYS, R.c.accept_due_at, R.c.resolve_due_at)
                .select_from(_joined())
                .where(and_(R.c.id.in_(ids[i : i + 500])))
            ):
                entry = self.open[rid]
                self.open[rid] = ((c, g, d, t), entry[STATUS], accept, resolve, entry[LATE])

    def _recount(self, before: dict[int, tuple | None], to: datetime) -> None:
        """The counts as of `to`: the touched reports taken out as counted before and put in as they are,
        then the untouched ones whose deadline passed meanwhile made overdue."""
        for rid, was in before.items():
            if was is not None:
                counts = self.counts[was[0]]
                counts[0] -= 1
                counts[1] -= was[1]
            entry = self.open.get(rid)
            if entry is not None:
                due = self._count(rid, entry, to)
                if due is not None:
                    heapq.heappush(self.due, (due, rid))
        due = self.due
        while due and due[0][0] < to:
            moment, rid = heapq.heappop(due)
            entry = self.open.get(rid)
            # Stale when the report closed, was counted since, or its status changed its deadline.
            if entry is not None and not entry[LATE] and _deadline(entry) == moment:
                self.open[rid] = (*entry[:LATE], True)
                self.counts[entry[KEY]][1] += 1

    def _tally(self) -> dict[Key, tuple[int, int]]:
        return {Key(*k): (n, late) for k, (n, late) in self.counts.items() if n}

    def backlog(self, windows, cells: list[Cells]) -> None:
        """facts._facts' backlog step: each window's open and overdue reports as of its as_of."""
        for w, c in sorted(zip(windows, cells, strict=True), key=lambda wc: wc[0].as_of):
            if w.as_of not in self.tallies:
                if w.as_of < self.at:
                    raise ValueError("a backlog walk only goes forward")
                self.advance(w.as_of)
            c.open_now = {}
            for key, (n, late) in self.tallies[w.as_of].items():
                c.bump(key, OPEN_AT_END, n)
                c.bump(key, OVERDUE_AT_END, late)
