"""The backlog of week after week for a back-fill: the reports open at one moment carried forward by the
week's filings and moves, instead of counted again from the whole history for every week.

Each publish of a back-fill needs the open and overdue reports per (category, grid, department, team) at
the end of its week and of the week before. Counted afresh (facts._backlog or _backlog_forward), a week a
year back reads half of all events; carried, a week reads its own (~20,000 at a million reports). The
figures are the same: a report starts submitted, its status at a moment is the to_status of its last move
before it (what the first move after it left, facts._moved_since), and it is grouped and measured against
its deadlines as it is now, as there.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select

from app.extensions import db
from app.summaries.facts import KEYS, OPEN, OPEN_AT_END, OVERDUE_AT_END, WORKING, Cells, E, Key, R, _at, _joined
from app.triage.workflow import Status

SUBMITTED = Status.SUBMITTED.value


class BacklogWalk:
    """The open reports at a moment (id -> [key, status, accept due, resolve due]), moved forward in time."""

    def __init__(self, at: datetime):
        self.at = at
        self.open: dict[int, list] = {}
        self.tallies: dict[datetime, dict[Key, tuple[int, int]]] = {}
        self._load(at)

    def _load(self, at: datetime) -> None:
        """The reports filed before `at` open then: each one's last move before it (none: submitted)."""
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
            if status in OPEN:
                self.open[rid] = [Key(c, g, d, t), status, accept, resolve]
        self.tallies[at] = self._tally(at)

    def advance(self, to: datetime) -> None:
        """Move to a later moment: add the reports filed meanwhile (submitted), then apply the moves in order."""
        if to <= self.at:
            return
        start, end = _at(self.at), _at(to)
        for rid, c, g, d, t, accept, resolve in db.session.execute(
            select(R.c.id, *KEYS, R.c.accept_due_at, R.c.resolve_due_at)
            .select_from(_joined())
            .where(R.c.created_at >= start, R.c.created_at < end)
        ):
            self.open[rid] = [Key(c, g, d, t), SUBMITTED, accept, resolve]
        reopened = set()
        for rid, status in db.session.execute(
            select(E.c.report_id, E.c.to_status)
            .where(E.c.created_at >= start, E.c.created_at < end, E.c.kind == "transition")
            .order_by(E.c.created_at, E.c.id)
        ):
            if status not in OPEN:
                self.open.pop(rid, None)
                reopened.discard(rid)
            elif rid in self.open:
                self.open[rid][1] = status
            else:  # reopened: closed (so not carried) before this stretch
                self.open[rid] = [None, status, None, None]
                reopened.add(rid)
        ids = sorted(reopened)
        for i in range(0, len(ids), 500):
            for rid, c, g, d, t, accept, resolve in db.session.execute(
                select(R.c.id, *KEYS, R.c.accept_due_at, R.c.resolve_due_at)
                .select_from(_joined())
                .where(and_(R.c.id.in_(ids[i : i + 500])))
            ):
                entry = self.open[rid]
                entry[0], entry[2], entry[3] = Key(c, g, d, t), accept, resolve
        self.at = to
        self.tallies[to] = self._tally(to)
        for old in sorted(self.tallies)[:-2]:  # a week needs its end and the end of the week before
            del self.tallies[old]

    def _tally(self, at: datetime) -> dict[Key, tuple[int, int]]:
        out: dict[Key, list[int]] = {}
        for key, status, accept, resolve in self.open.values():
            late = (status == SUBMITTED and accept is not None and accept < at) or (
                status in WORKING and resolve is not None and resolve < at
            )
            counts = out.get(key)
            if counts is None:
                out[key] = [1, int(late)]
            else:
                counts[0] += 1
                counts[1] += late
        return {k: (n, late) for k, (n, late) in out.items()}

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
