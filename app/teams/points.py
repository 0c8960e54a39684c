"""Recognition points, derived from where reports stand (recomputed on every call, never stored).

Rules (amounts from config, defaults in brackets):
- a report accepted earns its rider GRIDSNAP_POINTS_ACCEPTED [5], dated at its first `accepted` event;
- a report whose latest close is `closed` with outcome `fixed` earns GRIDSNAP_POINTS_FIXED [10] more,
  dated at that close (reopening a report withdraws it until it is closed as fixed again);
- reports now `rejected` or `duplicate` earn nothing;
- co-reporters (riders of duplicates merged into a report, or who added their photo to it) earn
  GRIDSNAP_POINTS_COREPORTER_PERCENT [50] % of each award, dated at the award or when they joined, if later;
  a rider who joined by adding their photo earns the acceptance share only when a coordinator first accepted
  the report after they joined (joining an accepted report earns nothing until it is fixed);
- a passer-by who takes a look at a report resolved near them ("Fixed? Take a look", a `verification`
  event: never their own report or one they co-report) earns GRIDSNAP_POINTS_VERIFIED [2], dated at the look;
- a rider earns at most GRIDSNAP_POINTS_DAILY_CAP [30] points per local day (GRIDSNAP_TIMEZONE).

Public functions (all need an app context; `start`/`end` are timezone-aware, the range is [start, end)):
- awards(start, end, user_ids=None) -> list[Award]         every uncapped award in the range
- points_for(user_ids, start, end) -> dict[int, int]        capped points per user (user_ids None: everyone)
- total_points(user_id) -> int                              all-time capped points of one user
- period_bounds(period, now=None) -> (start, end)           "week" (Monday 00:00 local) or "month"
- period_tally(start, end) -> (points, filed, fixed) per user  one computation for both league tables
- leaderboard(period_start, period_end, by="team"|"volunteer", limit=None, tally=None) -> list[LeaderRow]
  volunteer rows: display names only; team rows ranked by points per active member
  (active: member accounts not deactivated), `points` is that ratio (one decimal).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import func, select, union

from app.extensions import db
from app.i18n import local_zone
from app.models import CoReporter, Report, ReportEvent, Team, User
from app.triage.workflow import Outcome, Status

DEFAULTS = {
    "GRIDSNAP_POINTS_ACCEPTED": 5,
    "GRIDSNAP_POINTS_FIXED": 10,
    "GRIDSNAP_POINTS_COREPORTER_PERCENT": 50,
    "GRIDSNAP_POINTS_DAILY_CAP": 30,
    "GRIDSNAP_POINTS_VERIFIED": 2,
}
NO_POINTS = (Status.REJECTED.value, Status.DUPLICATE.value)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
FAR = datetime(2200, 1, 1, tzinfo=UTC)


def setting(key: str) -> int:
    """A points amount from the config, or its default."""
    return int(current_app.config.get(key, DEFAULTS[key]))


class Award(NamedTuple):
    """Points one user earned from one report at one moment (before the daily cap)."""

    user_id: int
    report_id: int
    kind: str  # accepted | fixed | co_accepted | co_fixed | verified
    points: int
    at: datetime


@dataclass
class LeaderRow:
    """One line of a league table."""

    rank: int
    id: int
    name: str
    points: float
    reports: int
    fixed: int
    total_points: int = 0
    members: int = 0


def _amounts() -> tuple[int, int, int]:
    """Points for an accepted report, for a fixed one, and the co-reporters' percentage."""
    return (
        setting("GRIDSNAP_POINTS_ACCEPTED"),
        setting("GRIDSNAP_POINTS_FIXED"),
        setting("GRIDSNAP_POINTS_COREPORTER_PERCENT"),
    )


class Joined(NamedTuple):
    """When a rider began to co-report a report, and how."""

    since: datetime
    by_photo: bool  # they added their photo to it themselves (False: a coordinator merged their duplicate)


class History(NamedTuple):
    """What the awards of one report depend on: when it was first accepted, and where it stands now (its
    latest move; the triage service keeps these columns on the report with every move it writes)."""

    first_accepted: datetime | None  # its first move to accepted
    last_status: str  # its status,
    last_outcome: str | None  # the outcome of its latest close, when closed,
    last_at: datetime | None  # and when that close was


def _report_awards(
    report_id: int, owner_id: int, history: History, co_reporters: dict[int, Joined], amounts: tuple[int, int, int]
) -> list[Award]:
    """The awards one report's history earns its rider and co-reporters."""
    if history.last_status in NO_POINTS:
        return []
    accepted_pts, fixed_pts, share = amounts
    own: list[tuple[str, int, datetime]] = []
    if history.first_accepted is not None:
        own.append((Status.ACCEPTED.value, accepted_pts, history.first_accepted))
    if (
        history.last_status == Status.CLOSED.value
        and history.last_outcome == Outcome.FIXED.value
        and history.last_at is not None
    ):
        own.append(("fixed", fixed_pts, history.last_at))
    out = [Award(owner_id, report_id, kind, pts, at) for kind, pts, at in own if pts]
    for uid, (since, by_photo) in co_reporters.items():
        if uid == owner_id:
            continue
        for kind, pts, at in own:
            if kind == Status.ACCEPTED.value and by_photo and at < since:
                continue  # accepted before their photo came: nothing of theirs was accepted
            part = pts * share // 100
            if part:
                out.append(Award(uid, report_id, "co_" + kind, part, max(at, since)))
    return out


def _in(column, selection):
    """`column IN ...` for each part of a selection: a subquery as one, ids 900 at a time."""
    subquery, ids = selection
    parts = [column.in_(subquery)] if subquery is not None else []
    return parts + [column.in_(chunk) for chunk in _chunks(sorted(ids))]


def _histories(selection) -> dict[int, tuple[int, History]]:
    """Owner and History of each selected report, read from their rows by index."""
    out: dict[int, tuple[int, History]] = {}
    for condition in _in(Report.id, selection):
        for rid, owner, first, status, outcome, closed in db.session.execute(
            select(
                Report.id, Report.user_id, Report.first_accepted_at, Report.status, Report.outcome, Report.closed_at
            ).where(condition)
        ):
            out[rid] = (owner, History(first, status, outcome if status == Status.CLOSED.value else None, closed))
    return out


def _candidates(start: datetime, end: datetime):
    """The reports whose history may hold an award dated in [start, end), as (subquery, more ids): first
    accepted or closed as fixed in it (by the indexed report columns, not by walking every move), joined by a
    co-reporter in it, or the target of a duplicate merged in it (its rider co-reports from then on)."""
    subquery = union(
        select(Report.id).where(Report.first_accepted_at >= start, Report.first_accepted_at < end),
        select(Report.id).where(
            Report.closed_at >= start,
            Report.closed_at < end,
            Report.fixed_clause(),
        ),
        select(CoReporter.report_id).where(CoReporter.created_at >= start, CoReporter.created_at < end),
    )
    targets: set[int] = set()
    for details in db.session.scalars(
        select(ReportEvent.details).where(
            ReportEvent.created_at >= start,
            ReportEvent.created_at < end,
            ReportEvent.to_status == Status.DUPLICATE.value,
        )
    ):
        target = _target_id((details or {}).get("duplicate_of"))
        if target:
            targets.add(target)
    return subquery, targets


def _target_id(value) -> int | None:
    """A duplicate target as an id (the triage service may record the id or the reference)."""
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if value.isdigit():
            return int(value)
        return db.session.scalar(select(Report.id).where(Report.reference == value))
    return None


def _co_reporters(selection) -> dict[int, dict[int, Joined]]:
    """report id -> {co-reporter user id: when and how they joined} for the selected reports, from CoReporter
    rows and duplicate events."""
    out: dict[int, dict[int, Joined]] = defaultdict(dict)
    dups = []
    for condition in _in(CoReporter.report_id, selection):
        for row in db.session.execute(
            select(CoReporter.report_id, CoReporter.user_id, CoReporter.created_at, CoReporter.duplicate_id).where(
                condition
            )
        ):
            out[row.report_id][row.user_id] = Joined(row.created_at, row.duplicate_id is None)
    # Riders of duplicates merged into these reports, in case no CoReporter row was written.
    for condition in _in(Report.duplicate_of_id, selection):
        dups += db.session.execute(
            select(Report.id, Report.duplicate_of_id, Report.user_id).where(
                Report.status == Status.DUPLICATE.value, condition
            )
        ).all()
    marked: dict[int, datetime] = {}
    for chunk in _chunks(sorted({d.id for d in dups})):  # when each was marked duplicate
        marked.update(
            db.session.execute(
                select(ReportEvent.report_id, func.min(ReportEvent.created_at))
                .where(ReportEvent.report_id.in_(chunk), ReportEvent.to_status == Status.DUPLICATE.value)
                .group_by(ReportEvent.report_id)
            ).all()
        )
    for dup_id, target, uid in dups:
        at = marked.get(dup_id)
        if at is not None and uid not in out[target]:
            out[target][uid] = Joined(at, False)
    return out


def _chunks(ids: list[int], size: int = 900):
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def _reports_of(user_ids: set[int]) -> set[int]:
    """Every report that can award these users anything: their own, those they co-report, and those
    their duplicates were merged into."""
    ids: set[int] = set()
    for chunk in _chunks(sorted(user_ids)):
        ids.update(db.session.scalars(select(Report.id).where(Report.user_id.in_(chunk))))
        ids.update(db.session.scalars(select(CoReporter.report_id).where(CoReporter.user_id.in_(chunk))))
        ids.update(
            db.session.scalars(
                select(Report.duplicate_of_id).where(
                    Report.user_id.in_(chunk),
                    Report.status == Status.DUPLICATE.value,
                    Report.duplicate_of_id.is_not(None),
                )
            )
        )
    return ids


def awards(start: datetime = EPOCH, end: datetime = FAR, user_ids: Iterable[int] | None = None) -> list[Award]:
    """Every award dated in [start, end), before the daily cap, for these users (None: everyone)."""
    if user_ids is None:
        return sorted(_everyones_awards(start, end), key=_award_order)
    wanted = set(user_ids)
    if start <= EPOCH and end >= FAR:
        # A rider's all-time points: their reports, not every report that ever moved (at a million
        # reports that walked 800,000 histories: 41 s for one profile page, now 0.3 s).
        selection = (None, _reports_of(wanted))
    else:
        subquery, targets = _candidates(start, end)
        selection = (None, (set(db.session.scalars(subquery)) | targets) & _reports_of(wanted))
    out = list(_looks(start, end, wanted))
    histories = _histories(selection)
    if histories:
        co = _co_reporters(selection)
        amounts = _amounts()
        out += [
            a
            for rid, (owner, history) in histories.items()
            for a in _report_awards(rid, owner, history, co.get(rid, {}), amounts)
            if start <= a.at < end and a.user_id in wanted
        ]
    out.sort(key=_award_order)
    return out


def _looks(start: datetime, end: datetime, user_ids: set[int] | None = None) -> Iterator[Award]:
    """The passers-by's looks dated in [start, end) (for these users; None: everyone), from the events (by the
    moves' index for a period, by the actor's for one rider's all time)."""
    pts = setting("GRIDSNAP_POINTS_VERIFIED")
    if not pts:
        return
    q = select(ReportEvent.actor_id, ReportEvent.report_id, ReportEvent.created_at).where(
        ReportEvent.kind == "verification", ReportEvent.actor_id.is_not(None)
    )
    if start > EPOCH:
        q = q.where(ReportEvent.created_at >= start)
    if end < FAR:
        q = q.where(ReportEvent.created_at < end)
    parts = [q] if user_ids is None else [q.where(ReportEvent.actor_id.in_(c)) for c in _chunks(sorted(user_ids))]
    for part in parts:
        for uid, rid, at in db.session.execute(part):
            yield Award(uid, rid, "verified", pts, at)


def _award_order(a: Award) -> tuple:
    return (a.at, a.report_id, a.user_id, a.kind)


def _own_awards(start: datetime, end: datetime, amounts: tuple[int, int, int]) -> Iterator[Award]:
    """Every rider's awards for their own reports dated in [start, end), from the report columns."""
    # _report_awards' rule for the owner (accepted at the first acceptance, fixed at the latest close when
    # it is fixed, nothing for reports now rejected or duplicate) as two indexed range queries: a week is
    # ~10,000 reports at a million, too many to build a History for each.
    accepted_pts, fixed_pts, _share = amounts
    if accepted_pts:
        for rid, uid, at in db.session.execute(
            select(Report.id, Report.user_id, Report.first_accepted_at).where(
                Report.first_accepted_at >= start, Report.first_accepted_at < end, Report.status.not_in(NO_POINTS)
            )
        ):
            yield Award(uid, rid, Status.ACCEPTED.value, accepted_pts, at)
    if fixed_pts:
        for rid, uid, at in db.session.execute(
            select(Report.id, Report.user_id, Report.closed_at).where(
                Report.closed_at >= start,
                Report.closed_at < end,
                Report.fixed_clause(),
            )
        ):
            yield Award(uid, rid, "fixed", fixed_pts, at)


def _everyones_awards(start: datetime, end: datetime) -> Iterator[Award]:
    """Every award dated in [start, end), in no order: the owners' from _own_awards, then the co-reporters'."""
    # A stream: a tally holds no object per award. Co-reporters are few: their shares go through
    # _report_awards for the candidate reports that have any.
    amounts = _amounts()
    yield from _own_awards(start, end, amounts)
    yield from _looks(start, end)
    co = _co_reporters(_candidates(start, end))
    if co:
        for rid, (owner, history) in _histories((None, set(co))).items():
            for a in _report_awards(rid, owner, history, co[rid], amounts):
                if a.kind.startswith("co_") and start <= a.at < end:
                    yield a


def capped(items: Iterable[Award]) -> dict[int, int]:
    """Points per user after the daily cap (sum per day in GRIDSNAP_TIMEZONE, each day at most the cap)."""
    cap = setting("GRIDSNAP_POINTS_DAILY_CAP")
    zone = local_zone()  # once, not per award: it is read from the app's config
    per_day: dict[tuple[int, date], int] = defaultdict(int)
    for a in items:
        per_day[(a.user_id, a.at.astimezone(zone).date())] += a.points
    out: dict[int, int] = defaultdict(int)
    for (uid, _day), pts in per_day.items():
        out[uid] += min(pts, cap) if cap > 0 else pts
    return dict(out)


def points_for(user_ids: Iterable[int] | None, start: datetime = EPOCH, end: datetime = FAR) -> dict[int, int]:
    """Capped points per user earned in [start, end); user_ids None means everyone with points."""
    ids = list(user_ids) if user_ids is not None else None
    result = capped(awards(start, end, ids))
    if ids is not None:
        return {uid: result.get(uid, 0) for uid in ids}
    return result


def total_points(user_id: int) -> int:
    """All-time capped points of one user."""
    return points_for([user_id])[user_id]


def period_bounds(period: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The current local week (from Monday) or month containing `now`, as UTC-aware datetimes."""
    zone = local_zone()
    here = (now or datetime.now(UTC)).astimezone(zone)
    day = here.date()
    if period == "week":
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    elif period == "month":
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"unknown period {period!r}")
    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    end = datetime(after.year, after.month, after.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def period_tally(start: datetime, end: datetime) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Per user for [start, end): capped points, reports filed, and own reports now closed as fixed with
    that close in the range. The awards are computed once for all three (and for both league tables)."""
    fixed: dict[int, int] = defaultdict(int)

    def counting_fixed(items: Iterable[Award]) -> Iterator[Award]:
        for a in items:
            if a.kind == "fixed":
                fixed[a.user_id] += 1
            yield a

    points = capped(counting_fixed(_everyones_awards(start, end)))
    filed = dict(
        db.session.execute(
            select(Report.user_id, func.count())
            .where(Report.created_at >= start, Report.created_at < end)
            .group_by(Report.user_id)
        ).all()
    )
    return points, filed, dict(fixed)


def leaderboard(
    period_start: datetime, period_end: datetime, by: str = "volunteer", limit: int | None = None, tally=None
) -> list[LeaderRow]:
    """The league table for [period_start, period_end): volunteers by points, or teams by points per active member.

    `tally`: period_tally() of the same period, when the caller shows both tables."""
    if by not in ("team", "volunteer"):
        raise ValueError(f"unknown leaderboard {by!r}")
    pts, filed, fixed = tally if tally is not None else period_tally(period_start, period_end)
    rows: list[LeaderRow] = []
    if by == "volunteer":
        ids = {uid for uid, p in pts.items() if p > 0} | set(filed)
        if ids:
            users = db.session.execute(
                select(User.id, User.display_name).where(User.id.in_(ids), User.active.is_(True))
            ).all()
            rows = [
                LeaderRow(
                    0, uid, name, pts.get(uid, 0), filed.get(uid, 0), fixed.get(uid, 0), total_points=pts.get(uid, 0)
                )
                for uid, name in users
            ]
        rows.sort(key=lambda r: (-r.points, -r.fixed, -r.reports, r.name, r.id))
    else:
        members: dict[int, list[tuple[int, bool]]] = defaultdict(list)
        for uid, team_id, active in db.session.execute(
            select(User.id, User.team_id, User.active).where(User.team_id.is_not(None))
        ):
            members[team_id].append((uid, active))
        for team in db.session.scalars(select(Team)):
            mine = members.get(team.id, [])
            active_n = sum(1 for _uid, active in mine if active)
            total = sum(pts.get(uid, 0) for uid, _a in mine)
            per = round(total / active_n, 1) if active_n else 0.0
            rows.append(
                LeaderRow(
                    0,
                    team.id,
                    team.name,
                    per,
                    sum(filed.get(uid, 0) for uid, _a in mine),
                    sum(fixed.get(uid, 0) for uid, _a in mine),
                    total_points=total,
                    members=active_n,
                )
            )
        rows.sort(key=lambda r: (-r.points, -r.total_points, r.name, r.id))
    prev_key, rank = None, 0
    for i, row in enumerate(rows, start=1):
        key = (row.points, row.total_points) if by == "team" else row.points
        if key != prev_key:
            rank, prev_key = i, key
        row.rank = rank  # equal points share a rank
    return rows[:limit] if limit else rows
