"""The board's queries: filters from the URL, one page of rows, counts per status, deadline colours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, literal_column, or_, select, text
from sqlalchemy.orm import aliased

from app.errors import ValidationFailed
from app.extensions import db
from app.grids.models import Grid
from app.inputs import MAX_ID, MAX_PAGE, day, flag, integer, record_id
from app.models import Category, Department, Photo, Report, ReportEvent, User, status_sql, utcnow
from app.triage.models import ReportStatusCount
from app.triage.workflow import OPEN_STATUSES, PRIORITY_ORDER, Status, deadline_for

OPEN = tuple(s.value for s in OPEN_STATUSES)
# ix_report_open_created's predicate, word for word (see models.status_sql).
OPEN_SQL = text(status_sql(OPEN_STATUSES, "report.status"))
SORTS = ("attention", "newest", "oldest", "due", "priority", "updated")
MAX_PER_PAGE = 200


@dataclass
class BoardFilter:
    """What the board shows; parsed from (and written back to) the URL's query string."""

    statuses: list[str] = field(default_factory=list)  # empty = all open statuses
    category: str | None = None
    department: str | None = None
    assignee: str | None = None  # a user id, or "none" for not yet assigned
    priority: str | None = None
    overdue: bool = False
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    grid: int | None = None
    sort: str = "newest"
    sort_default: str = "newest"  # the page's is "attention" (the API keeps "newest")
    page: int = 1
    per_page: int = 50

    @property
    def narrowed(self) -> bool:
        """Whether anything besides the status limits the rows (then counts need a query)."""
        return bool(
            self.category
            or self.department
            or self.assignee
            or self.priority
            or self.overdue
            or self.date_from
            or self.date_to
            or self.q
            or self.grid
        )

    def args(self, **override) -> dict[str, Any]:
        """The query-string form of this filter (for links that keep the view)."""
        out: dict[str, Any] = {
            "status": self.statuses,
            "category": self.category,
            "department": self.department,
            "assignee": self.assignee,
            "priority": self.priority,
            "overdue": "1" if self.overdue else None,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "q": self.q or None,
            "grid": self.grid,
            "sort": self.sort if self.sort != self.sort_default else None,
            "page": self.page if self.page != 1 else None,
            "per_page": self.per_page if self.per_page != 50 else None,
        }
        out.update(override)
        return {k: v for k, v in out.items() if v not in (None, "", [])}


def parse_filter(args, per_page_default: int = 50, sort_default: str = "newest") -> BoardFilter:
    """A BoardFilter from query arguments (a MultiDict: status may repeat); 400 on nonsense."""
    statuses = []
    for value in args.getlist("status"):
        for s in value.split(","):
            s = s.strip()
            if not s:
                continue
            if s == "open":
                statuses.extend(OPEN)
                continue
            try:
                statuses.append(Status(s).value)
            except ValueError:
                raise ValidationFailed(_l("Unknown status: %(s)s", s=s), code="invalid_status") from None
    statuses = sorted(set(statuses), key=lambda s: list(Status).index(Status(s)))
    if set(statuses) == set(OPEN):
        statuses = []
    priority = args.get("priority") or None
    if priority and priority not in PRIORITY_ORDER:
        raise ValidationFailed(_l("Unknown priority."), code="invalid_priority")
    sort = args.get("sort") or sort_default
    if sort not in SORTS:
        raise ValidationFailed(_l("Unknown sort order."), code="invalid_sort")
    try:
        page = integer(args.get("page"), 1)
        per_page = integer(args.get("per_page"), per_page_default)
        grid = integer(args.get("grid"))
    except ValueError:
        raise ValidationFailed(_l("page, per_page and grid must be whole numbers."), code="invalid_number") from None
    if grid is not None and not 0 < grid <= MAX_ID:
        raise ValidationFailed(_l("There is no such grid."), code="invalid_number")
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationFailed(
            _l("page must be 1 or more and per_page between 1 and %(n)d.", n=MAX_PER_PAGE), code="invalid_page"
        )
    assignee = args.get("assignee") or None
    if assignee and assignee != "none" and record_id(assignee) is None:
        raise ValidationFailed(_l("assignee must be a user number or none."), code="invalid_assignee")
    return BoardFilter(
        statuses=statuses,
        category=args.get("category") or None,
        department=args.get("department") or None,
        assignee=assignee,
        priority=priority,
        overdue=flag(args.get("overdue"), "overdue"),
        date_from=day(args.get("from"), "from"),
        date_to=day(args.get("to"), "to"),
        q=(args.get("q") or "").strip()[:100],
        grid=grid,
        sort=sort,
        sort_default=sort_default,
        page=page,
        per_page=per_page,
    )


def _local_midnight(d: date) -> datetime:
    from app.i18n import local_zone

    return datetime.combine(d, time.min, tzinfo=local_zone())


def conditions(f: BoardFilter, *, with_status: bool = True, now: datetime | None = None) -> list:
    """The WHERE terms of a filter (optionally without the status, for the tab counts)."""
    now = now or utcnow()
    where = []
    if with_status:
        if not f.statuses:
            where.append(OPEN_SQL)
        elif len(f.statuses) == 1:
            where.append(Report.status == f.statuses[0])
        else:
            where.append(Report.status.in_(f.statuses))
    if f.category:
        where.append(Report.category_id == select(Category.id).where(Category.code == f.category).scalar_subquery())
    if f.department:
        number = record_id(f.department)  # a department's number or its code
        dept = (Department.id == number) if number else (Department.code == f.department)
        where.append(Report.department_id == select(Department.id).where(dept).scalar_subquery())
    if f.assignee == "none":
        where.append(Report.assignee_id.is_(None))
    elif f.assignee:
        where.append(Report.assignee_id == int(f.assignee))
    if f.priority:
        where.append(Report.priority == f.priority)
    if f.overdue:
        where.append(Report.overdue_clause(now))
    if f.date_from:
        where.append(Report.created_at >= _local_midnight(f.date_from))
    if f.date_to:
        where.append(Report.created_at < _local_midnight(f.date_to + timedelta(days=1)))
    if f.q:
        like = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            or_(
                Report.reference.ilike(like, escape="\\"),
                Report.description.ilike(like, escape="\\"),
                Report.building.ilike(like, escape="\\"),
                Report.address.ilike(like, escape="\\"),
            )
        )
    if f.grid:
        where.append(Report.grid_id == f.grid)
    return where


def _order(f: BoardFilter, now: datetime | None = None):
    if f.sort == "attention":
        # Needs attention: hazards first, then the overdue by how late (earliest deadline first), then the
        # rest by how long they have waited (oldest first).
        now = now or utcnow()
        due = Report.due_clause()
        late = due < now
        return [
            Category.hazard.desc(),
            case((late, 0), else_=1),
            case((late, due), else_=Report.created_at).asc(),
            Report.id.asc(),
        ]
    if f.sort == "oldest":
        return [Report.created_at.asc(), Report.id.asc()]
    if f.sort == "updated":
        return [Report.updated_at.desc(), Report.id.desc()]
    if f.sort == "priority":
        rank = case(PRIORITY_ORDER, value=Report.priority, else_=9)
        return [rank, Report.created_at.desc(), Report.id.desc()]
    if f.sort == "due":
        due = Report.due_clause()  # resolved and closed reports have none: last
        return [case((due.is_(None), 1), else_=0), due.asc(), Report.id.asc()]
    return [Report.created_at.desc(), Report.id.desc()]


Assignee = aliased(User)

ROW_COLUMNS = (
    Report.id,
    Report.reference,
    Report.status,
    Report.priority,
    Report.version,
    Report.description,
    Report.address,
    Report.place,
    Report.lat,
    Report.lon,
    Report.created_at,
    Report.updated_at,
    Report.accept_due_at,
    Report.resolve_due_at,
    Report.grid_id,
    Report.outside_area,
    Category.hazard.label("hazard"),
    Category.code.label("category"),
    Category.name_zh.label("category_zh"),
    Category.name_en.label("category_en"),
    Category.color.label("category_color"),
    Department.code.label("department"),
    Department.name_zh.label("department_zh"),
    Department.name_en.label("department_en"),
    Assignee.id.label("assignee_id"),
    Assignee.display_name.label("assignee"),
    Grid.name.label("grid_name"),
    # the row's thumbnail: the rider's first photo
    select(Photo.id)
    .where(Photo.report_id == Report.id, Photo.kind == "report")
    .order_by(Photo.id)
    .limit(1)
    .correlate(Report)
    .scalar_subquery()
    .label("photo_id"),
)


def _category_of_report():
    """Join condition report → category that SQLite cannot turn round. Given the bare column, the planner
    may walk the categories and, for each, the open reports by an index led by category_id (as it did
    with the former ix_report_open_backlog), then sort every open report for the first page: 330 ms at a
    million reports instead of reading ix_report_open_created newest first and stopping after 50 (seen
    when that index had no statistics yet). `+ 0` leaves category_id usable only once the report row is
    read."""
    return Category.id == Report.category_id + literal_column("0")


def _row_select():
    return (
        select(*ROW_COLUMNS)
        .select_from(Report)
        .join(Category, _category_of_report())
        .outerjoin(Department, Department.id == Report.department_id)
        .outerjoin(Assignee, Assignee.id == Report.assignee_id)
        .outerjoin(Grid, Grid.id == Report.grid_id)
    )


def board_rows(f: BoardFilter, now: datetime | None = None) -> list:
    """One page of rows (Core rows, not ORM objects: the board shows 50 at once)."""
    now = now or utcnow()
    if f.sort == "attention":
        # The page's ids first, ordered from ix_report_open_attention alone (no row read for the sort: 13 ms
        # instead of 170 ms over 41,000 open reports), then their 50 rows.
        page = (
            select(Report.id)
            .select_from(Report)
            .join(Category, _category_of_report())
            .where(*conditions(f, now=now))
            .order_by(*_order(f, now))
            .limit(f.per_page)
            .offset((f.page - 1) * f.per_page)
        )
        ids = list(db.session.scalars(page))
        if not ids:
            return []
        q = _row_select().where(Report.id.in_(ids)).order_by(*_order(f, now))
        return list(db.session.execute(q))
    q = _row_select().where(*conditions(f, now=now)).order_by(*_order(f, now))
    q = q.limit(f.per_page).offset((f.page - 1) * f.per_page)
    return list(db.session.execute(q))


def status_counts(f: BoardFilter, now: datetime | None = None) -> dict[str, int]:
    """Reports per status under the filter's other conditions (the tabs' numbers)."""
    counts = {s.value: 0 for s in Status}
    if not f.narrowed:
        # Maintained by triggers on the report table: exact, and eight rows instead of a million.
        for status, n in db.session.execute(select(ReportStatusCount.status, ReportStatusCount.n)):
            counts[status] = n
    else:
        q = (
            select(Report.status, func.count())
            .where(*conditions(f, with_status=False, now=now))
            .group_by(Report.status)
        )
        for status, n in db.session.execute(q):
            counts[status] = n
    counts["open"] = sum(counts[s] for s in OPEN)
    return counts


def total_for(f: BoardFilter, counts: dict[str, int]) -> int:
    """How many rows the filter matches (from the counts: no second COUNT query)."""
    return counts["open"] if not f.statuses else sum(counts[s] for s in f.statuses)


def map_points(f: BoardFilter, limit: int = 5000) -> list:
    """Up to `limit` matching reports as points for the board's map (newest first)."""
    q = (
        select(
            Report.id,
            Report.reference,
            Report.status,
            Report.lat,
            Report.lon,
            Report.priority,
            Report.outside_area,
            Category.code,
            Category.color,
        )
        .join(Category, _category_of_report())
        .where(*conditions(f), Report.lat.is_not(None))  # "location needed": on the list, not on the map
        .order_by(*_order(f))
        .limit(limit)
    )
    return list(db.session.execute(q))


def _recorded_at(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def escalation_levels(rows) -> dict[int, int]:
    """The highest escalation level recorded against each row's current deadline (one query for a page)."""
    ids = [r.id for r in rows]
    if not ids:
        return {}
    due = {}
    for r in rows:
        d = deadline_for(r.status, r.accept_due_at, r.resolve_due_at)
        if d is not None:
            due[r.id] = d if d.tzinfo else d.replace(tzinfo=UTC)
    levels: dict[int, int] = {}
    for rid, details in db.session.execute(
        select(ReportEvent.report_id, ReportEvent.details).where(
            ReportEvent.report_id.in_(ids), ReportEvent.kind == "escalated"
        )
    ):
        if rid in due and _recorded_at(details.get("due")) == due[rid]:  # compared as instants, not as text
            levels[rid] = max(levels.get(rid, -1), int(details.get("level", 0)))
    return levels


def deadline_state(status: str, accept_due_at, resolve_due_at, created_at, now: datetime | None = None):
    """'overdue', 'due_soon' (within the last quarter of its window) or None."""
    now = now or utcnow()
    due = deadline_for(status, accept_due_at, resolve_due_at)
    if due is None:
        return None
    if due.tzinfo is None:  # SQLite through Core rows: stored as UTC
        due = due.replace(tzinfo=UTC)
    if created_at is not None and created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    if due < now:
        return "overdue"
    window = due - created_at if created_at else timedelta(0)
    if window > timedelta(0) and due - now <= window / 4:
        return "due_soon"
    return None


def grid_rows(user: User) -> list:
    """A grid worker's (网格员) new reports: not yet dispatched, in the grids they look after, newest first."""
    from app.grids.models import Grid

    mine = select(Grid.id).where(Grid.worker_id == user.id).scalar_subquery()
    waiting = Report.status.in_([Status.SUBMITTED.value, Status.ACCEPTED.value])
    q = _row_select().where(waiting, Report.grid_id.in_(mine)).order_by(Report.created_at.desc(), Report.id.desc())
    return list(db.session.execute(q.limit(100)))


def task_rows(user: User, now: datetime | None = None) -> list:
    """A handler's work: reports dispatched to them or their department, overdue first."""
    now = now or utcnow()
    mine = Report.assignee_id == user.id
    if user.department_id:
        mine = or_(mine, Report.department_id == user.department_id)
    active = Report.status.in_([Status.ASSIGNED.value, Status.IN_PROGRESS.value])
    overdue_first = case((Report.resolve_due_at < now, 0), else_=1)
    q = (
        _row_select()
        .where(active, mine)
        .order_by(overdue_first, Report.resolve_due_at.asc(), Report.id.asc())
        .limit(200)
    )
    return list(db.session.execute(q))
