"""The weekly summary: one plain data object built from reports and their event history.

Every figure is grouped in SQL by (category, grid, department, team) (facts.py) and rolled up here, so
the headline, the four breakdowns and the category x grid rows add up by construction.
Status "at the end of the week" comes from the event history, not from the current status:
a report's status at time T is its current status unless it moved at or after T, in which
case it is the `from_status` of its first move at or after T.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import and_, case, func, select

from app.database import snapshot
from app.extensions import db
from app.grids.models import Grid
from app.i18n import local_zone
from app.models import Category, Department, Report, Team
from app.reports.geo import cell_of
from app.summaries import hotspots as hotspot_search

# COUNTS, OUTCOMES, Hours, hours, pct and quantile are also this module's public names (render, tests).
from app.summaries.facts import (  # noqa: F401
    COUNTS,
    IX,
    OUTCOMES,
    Cells,
    Hours,
    Key,
    R,
    Received,
    _facts,
    _Tally,
    _Window,
    hours,
    part_indexes,
    pct,
    projector,
    quantile,
)
from app.summaries.weeks import Week, last_complete_week, parse_week, week_of
from app.triage.workflow import Status

HEADLINE = COUNTS + ("hours_to_accept_median", "hours_to_resolve_median", "accept_within_pct", "resolve_within_pct")
# Upper bounds (hours) of the time-to-resolve histogram bars; the last bar is open-ended.
RESOLVE_BUCKETS = (2, 24, 72, 168)


@dataclass
class Figures:
    """The figures of one week, for everything or for one group."""

    received: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    resolved: int = 0
    closed: int = 0
    closed_by_outcome: dict[str, int] = field(default_factory=dict)
    reopened: int = 0
    open_at_end: int = 0
    overdue_at_end: int = 0
    hours_to_accept: Hours = field(default_factory=Hours)
    hours_to_resolve: Hours = field(default_factory=Hours)
    within_deadline_pct: dict[str, float | None] = field(default_factory=dict)

    def headline(self) -> dict[str, Any]:
        """The flat headline numbers compared week to week."""
        out = {k: getattr(self, k) for k in COUNTS}
        out["hours_to_accept_median"] = self.hours_to_accept.median
        out["hours_to_resolve_median"] = self.hours_to_resolve.median
        out["accept_within_pct"] = self.within_deadline_pct.get("accept")
        out["resolve_within_pct"] = self.within_deadline_pct.get("resolve")
        return out


@dataclass
class Group(Figures):
    """Figures for one category, grid, department or team (code None: none of them)."""

    code: str | None = None
    name_zh: str = ""
    name_en: str = ""


@dataclass
class Hotspot:
    """A place where reports cluster."""

    lat: float
    lon: float
    count: int
    category: str
    category_zh: str
    category_en: str
    category_count: int
    grid: str | None
    place: dict[str, Any] | None = None  # by name: the grid and the nearest landmark (reports.places.describe)


@dataclass
class WeeklySummary(Figures):
    """Everything the weekly page, JSON, CSV, CLI and email show."""

    week: str = ""
    start: datetime | None = None
    end: datetime | None = None
    as_of: datetime | None = None
    so_far: bool = False
    generated_at: datetime | None = None
    previous_week: str = ""
    next_week: str | None = None
    by_category: list[Group] = field(default_factory=list)
    by_grid: list[Group] = field(default_factory=list)
    by_department: list[Group] = field(default_factory=list)
    by_team: list[Group] = field(default_factory=list)
    follow_up: list[dict[str, Any]] = field(default_factory=list)  # escalations and riders' answers per department
    by_category_grid: list[dict[str, Any]] = field(default_factory=list)
    per_day: list[dict[str, Any]] = field(default_factory=list)
    resolve_histogram: list[dict[str, Any]] = field(default_factory=list)
    previous: dict[str, Any] = field(default_factory=dict)
    change: dict[str, dict[str, Any]] = field(default_factory=dict)
    hotspots: list[Hotspot] = field(default_factory=list)
    top_volunteers: list[dict[str, Any]] = field(default_factory=list)
    top_teams: list[dict[str, Any]] = field(default_factory=list)
    narrative: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; times as ISO-8601 with the local offset."""
        out = asdict(self)
        for k in ("start", "end", "as_of", "generated_at"):
            out[k] = getattr(self, k).isoformat() if getattr(self, k) else None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WeeklySummary:
        """The summary again from to_dict()'s data (a published record): to_dict() of it gives the same data."""
        d = _known(cls, data)
        for k in ("start", "end", "as_of", "generated_at"):
            d[k] = datetime.fromisoformat(d[k]) if d.get(k) else None
        for k in ("by_category", "by_grid", "by_department", "by_team"):
            d[k] = [Group(**_known(Group, g)) for g in d.get(k, [])]
        d["hotspots"] = [Hotspot(**_known(Hotspot, h)) for h in d.get("hotspots", [])]
        return cls(**d)


def _known(kind, d: dict[str, Any]) -> dict[str, Any]:
    """The fields of `kind` in d (a record published by an older version may lack some, or have others)."""
    names = {f.name for f in fields(kind)}
    out = {k: v for k, v in d.items() if k in names}
    for k in ("hours_to_accept", "hours_to_resolve"):
        if isinstance(out.get(k), dict):
            out[k] = Hours(**_known(Hours, out[k]))
    return out


def _total(tallies: dict[Key, _Tally]) -> _Tally:
    total = _Tally()
    for t in tallies.values():
        total.add(t)
    return total


def _rollup(tallies: dict[tuple, _Tally], index: tuple[int, ...]) -> dict[tuple, _Tally]:
    part = projector(index)
    out: dict[tuple, _Tally] = defaultdict(_Tally)
    for key, t in tallies.items():
        out[part(key)].add(t)
    return out


def _labels(keys) -> list[dict[int | None, tuple]]:
    """id -> (code, name_zh, name_en, sort) for the categories, grids, departments and teams present."""
    ids = [{k[i] for k in keys} - {None} for i in range(4)]
    out: list[dict] = [{}, {}, {}, {}]
    if ids[0]:
        for c in db.session.execute(
            select(Category.id, Category.code, Category.name_zh, Category.name_en, Category.sort_order).where(
                Category.id.in_(ids[0])
            )
        ):
            out[0][c.id] = (c.code, c.name_zh, c.name_en, c.sort_order)
    if ids[1]:
        for g in db.session.execute(select(Grid.id, Grid.code, Grid.name).where(Grid.id.in_(ids[1]))):
            out[1][g.id] = (g.code, g.name, g.name, 0)
    if ids[2]:
        for d in db.session.execute(
            select(Department.id, Department.code, Department.name_zh, Department.name_en).where(
                Department.id.in_(ids[2])
            )
        ):
            out[2][d.id] = (d.code, d.name_zh, d.name_en, 0)
    if ids[3]:
        for t in db.session.execute(select(Team.id, Team.name).where(Team.id.in_(ids[3]))):
            out[3][t.id] = (t.name, t.name, t.name, 0)
    none = [
        ("", "", "", 0),
        ("", "网格外", "Outside all grids", 0),
        ("", "未分派", "No department", 0),
        ("", "无车队", "No team", 0),
    ]
    for i in range(4):
        out[i][None] = none[i]
    return out


def _groups(rolled: dict[tuple, _Tally], labels: dict) -> list[Group]:
    """One Group per id of a roll-up to one key part."""
    groups = []
    for (gid,), t in rolled.items():
        code, zh, en, _sort = labels.get(gid, (str(gid), str(gid), str(gid), 0))
        groups.append(t.fill(Group(code=code or None, name_zh=zh, name_en=en)))
    groups.sort(key=lambda g: (-g.received, -g.open_at_end, -g.resolved, g.code is None, g.code or ""))
    return groups


def _category_grid_rows(by_category_grid: dict[tuple, _Tally], labels: list[dict]) -> list[dict[str, Any]]:
    rows = []
    for (cat, grid), t in by_category_grid.items():
        f = t.fill(Figures())
        c, g = labels[0].get(cat, ("", "", "", 0)), labels[1].get(grid, ("", "", "", 0))
        rows.append(
            {
                "category": c[0],
                "category_zh": c[1],
                "category_en": c[2],
                "grid": g[0] or None,
                "grid_name": g[1] if g[0] else "",
                **{k: getattr(f, k) for k in COUNTS},
                "closed_by_outcome": f.closed_by_outcome,
                "hours_to_accept": vars(f.hours_to_accept).copy(),
                "hours_to_resolve": vars(f.hours_to_resolve).copy(),
                "within_deadline_pct": f.within_deadline_pct,
                "_sort": (c[3], g[0] == "", g[0]),
            }
        )
    rows.sort(key=lambda r: r.pop("_sort"))
    return rows


def _received_by_category_grid(cells: Cells, labels: list[dict]) -> list[dict[str, Any]]:
    """Just the reports received per category x grid (the week before, for the narrative)."""
    received: Counter = Counter()
    for key, counts in cells.counts.items():
        received[key.category, key.grid] += counts.get(IX["received"], 0)
    return [
        {"category": labels[0].get(cat, ("",))[0], "grid": labels[1].get(grid, ("",))[0] or None, "received": n}
        for (cat, grid), n in received.items()
        if n
    ]


def _per_day(week: Week, received: Received, moments: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Counts per local day; the reports received and moments give hours after the week's start (days may
    be 23 or 25 hours long where the zone keeps daylight saving time). A moment before the first day counts
    on it, one after the last on the last."""
    start = week.start.astimezone(UTC)  # elapsed time: two datetimes of one zone subtract as clocks
    bounds = [
        (datetime.combine(d, time(0), tzinfo=week.zone).astimezone(UTC) - start).total_seconds() / 3600
        for d in week.days
    ]

    def per_day(offsets: list[float]) -> list[int]:
        ordered = sorted(offsets)
        edges = [0] + [bisect_left(ordered, b) for b in bounds[1:]] + [len(ordered)]
        return [edges[i + 1] - edges[i] for i in range(len(bounds))]

    received_n, accepted_n, resolved_n = (
        per_day(received.h),
        per_day(moments[Status.ACCEPTED.value]),
        per_day(moments[Status.RESOLVED.value]),
    )
    return [
        {
            "date": d.isoformat(),
            "received": received_n[i],
            Status.ACCEPTED.value: accepted_n[i],
            Status.RESOLVED.value: resolved_n[i],
        }
        for i, d in enumerate(week.days)
    ]


def _histogram(values: list[float]) -> list[dict[str, Any]]:
    bars, lower = [], 0
    for upper in (*RESOLVE_BUCKETS, None):
        n = sum(1 for v in values if v >= lower and (upper is None or v < upper))
        bars.append({"from_hours": lower, "to_hours": upper, "count": n})
        lower = upper
    return bars


def _change(now: dict[str, Any], before: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for k in HEADLINE:
        a, b = now.get(k), before.get(k)
        if a is None or b is None:
            out[k] = {"delta": None, "pct": None}
        else:
            out[k] = {"delta": round(a - b, 1), "pct": round(100.0 * (a - b) / b, 1) if b else None}
    return out


def _hotspots(received: Received, labels: list[dict], limit: int) -> list[Hotspot]:
    from app.reports.places import describe

    found = []
    pinned = [i for i, lat in enumerate(received.lat) if lat is not None]  # not those waiting for a pin
    if len(pinned) < len(received.lat):
        received = Received(**{k: [column[i] for i in pinned] for k, column in asdict(received).items()})
    for c in hotspot_search.clusters(
        received.lat, received.lon, received.cell, received.category_id, received.grid_id, limit=limit
    ):
        code, zh, en, _s = labels[0].get(c.category_id, ("", "", "", 0))
        grid = labels[1].get(c.grid_id, ("", ""))[1] or None  # by name, not its code
        place = describe(c.lat, c.lon, grid) or {}
        if not place.get("landmark"):  # no landmark near: the address riders' reports there were given
            address = _address_near(c.lat, c.lon)
            if address:
                place["address"] = address
        found.append(Hotspot(c.lat, c.lon, c.count, code, zh, en, c.category_count, grid, place or None))
    return found


def _address_near(lat: float, lon: float) -> str | None:
    """The address of the latest named report in the ~100 m cell at a hotspot's centre (ix_report_cell_created)."""
    return db.session.scalar(
        select(Report.address)
        .where(Report.cell == cell_of(lat, lon), Report.address.is_not(None), Report.address != "")
        .order_by(Report.created_at.desc())
        .limit(1)
    )


def _leaders(start: datetime, end: datetime, limit: int) -> tuple[list[dict], list[dict]]:
    """The most active volunteers and teams by points in the week: the teams feature's league tables
    (app/teams/points.py, one computation of the week's awards for both), teams with neither points nor
    reports left out."""
    from app.teams import points

    tally = points.period_tally(start, end)
    volunteers = points.leaderboard(start, end, by="volunteer", limit=limit, tally=tally)
    teams = [r for r in points.leaderboard(start, end, by="team", tally=tally) if r.total_points or r.reports]
    return (
        [
            {"rank": r.rank, "name": r.name, "points": r.points, "reports": r.reports, "fixed": r.fixed}
            for r in volunteers
        ],
        [
            {
                "rank": r.rank,
                "name": r.name,
                "points": r.points,
                "total_points": r.total_points,
                "members": r.members,
                "reports": r.reports,
                "fixed": r.fixed,
            }
            for r in teams[:limit]
        ],
    )


def resolve_week(name: str | None, now: datetime | None = None) -> Week:
    """The named week (validated), or the last complete week when no name is given."""
    zone = local_zone()
    now = now or datetime.now(UTC)
    return parse_week(name, zone, now) if name else last_complete_week(zone, now)


def weekly_summary(
    week: str | None,
    now: datetime | None = None,
    *,
    hotspot_limit: int = 10,
    leaders: int = 5,
    forward: bool | None = None,
) -> WeeklySummary:
    """The summary of one ISO week (default: the last complete week), as of `now`: every figure from one
    snapshot of the database, whatever is written meanwhile."""
    now = now or datetime.now(UTC)
    wk = resolve_week(week, now)
    with snapshot():
        return _summary(wk, now, hotspot_limit, leaders, forward)


def _summary(
    wk: Week, now: datetime, hotspot_limit: int, leaders: int, forward: bool | None = None, walk=None
) -> WeeklySummary:
    from app.summaries.follow_up import follow_up
    from app.summaries.narrative import narrative

    start, end = wk.start.astimezone(UTC), wk.end.astimezone(UTC)
    as_of = min(end, now)
    prev = wk.shifted(-1)
    p_start, p_end = prev.start.astimezone(UTC), prev.end.astimezone(UTC)
    (now_cells, prev_cells), received, moments = _facts(
        [_Window(start, end, as_of), _Window(p_start, p_end, p_end)], now, forward, walk
    )
    labels = _labels(now_cells.keys() | prev_cells.keys())

    # Category, grid and total roll up from the few category x grid cells; department and team need all.
    cells, departments, teams = now_cells.rollups(
        [part_indexes("category", "grid"), part_indexes("department"), part_indexes("team")]
    )
    total = _total(cells)
    s = total.fill(WeeklySummary())
    s.week, s.start, s.end = wk.name, wk.start, wk.end
    s.as_of, s.so_far, s.generated_at = as_of.astimezone(wk.zone), now < end, now.astimezone(wk.zone)
    s.previous_week = prev.name
    following = wk.shifted(1)
    s.next_week = following.name if following.start <= now else None
    s.by_category = _groups(_rollup(cells, (0,)), labels[0])  # cells are keyed (category, grid)
    s.by_grid = _groups(_rollup(cells, (1,)), labels[1])
    s.by_department = _groups(departments, labels[2])
    s.by_team = _groups(teams, labels[3])
    s.follow_up = follow_up(start, as_of)
    s.by_category_grid = _category_grid_rows(cells, labels)
    s.per_day = _per_day(wk, received, moments)
    s.resolve_histogram = _histogram(total.resolve_h)
    before = prev_cells.total().fill(Figures())
    s.previous = {"week": prev.name, **{k: v for k, v in asdict(before).items()}}
    s.change = _change(s.headline(), before.headline())
    s.hotspots = _hotspots(received, labels, hotspot_limit)
    s.top_volunteers, s.top_teams = _leaders(start, end, leaders)
    s.narrative = narrative(s, _received_by_category_grid(prev_cells, labels))
    return s


def recent_weeks(count: int = 26, offset: int = 0, now: datetime | None = None) -> tuple[list[dict[str, Any]], bool]:
    """The weeks to list (newest first, from the current one) with reports received in each, and
    whether older weeks with reports exist."""
    zone = local_zone()
    now = now or datetime.now(UTC)
    newest = week_of(now, zone).shifted(-offset)
    weeks = [newest.shifted(-i) for i in range(count)]
    bounds = [(w.start.astimezone(UTC), w.end.astimezone(UTC)) for w in weeks]
    cols = [func.sum(case((and_(R.c.created_at >= s, R.c.created_at < e), 1), else_=0)) for s, e in bounds]
    counts = db.session.execute(
        select(*cols).where(R.c.created_at >= bounds[-1][0], R.c.created_at < bounds[0][1])
    ).one()
    first = db.session.scalar(select(func.min(R.c.created_at)))
    if first is not None and first.tzinfo is None:  # SQLite hands back naive UTC
        first = first.replace(tzinfo=UTC)
    # From the week of the first report on (the current week always, so the page is never empty)
    weeks = [w for i, w in enumerate(weeks) if (i == 0 and offset == 0) or (first is not None and w.end > first)]
    listed = [
        {
            "week": w.name,
            "start": w.start,
            "end": w.end,
            "first_day": w.days[0],
            "last_day": w.days[-1],
            "received": n or 0,
            "so_far": now < w.end,
        }
        for w, n in zip(weeks, counts, strict=False)
    ]
    return listed, first is not None and first < bounds[-1][0]
