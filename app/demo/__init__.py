"""Demo data around Qianwei County (犍为县), Sichuan, and synthetic volume for benchmarks."""

from __future__ import annotations

import io
import json
import random
from datetime import timedelta

from PIL import Image, ImageDraw
from sqlalchemy import func, insert, select

from app.auth.services import create_user
from app.catalog import seed_reference_data
from app.demo import county
from app.extensions import db
from app.grids.models import Grid
from app.grids.services import dispatch_suggestion, import_grids
from app.models import STAFF_ROLES, Category, Department, Report, ReportEvent, Role, User, utcnow
from app.reports.geo import cell_of
from app.reports.places import import_places
from app.reports.services import make_reference, submit_report
from app.storage import photo_store
from app.triage.services import transition
from app.triage.workflow import OPEN_STATUSES, Outcome, Priority, Status

CENTRE = (29.2089, 103.9512)  # Qianwei county town (玉津镇)
PASSWORD = "gridsnap-demo"

PEOPLE = [
    # username, display name, role, team, department code
    ("admin", "系统管理员", Role.ADMIN, None, None),  # not a role: the user name
    ("coord_wang", "王协调", Role.COORDINATOR, None, None),
    ("coord_li", "李主任", Role.COORDINATOR, None, None),
    ("handler_jj", "交警 刘警官", Role.HANDLER, None, "traffic_police"),
    ("handler_sj", "市场监管 陈工", Role.HANDLER, None, "market_supervision"),
    ("rider_zhang", "张师傅", Role.RIDER, "犍路先锋", None),
    ("rider_chen", "陈小哥", Role.RIDER, "犍路先锋", None),
    ("rider_liu", "刘骑手", Role.RIDER, "犍路先锋", None),
    ("rider_zhao", "赵师傅", Role.RIDER, "小哥传声筒", None),
    ("rider_sun", "孙小妹", Role.RIDER, "小哥传声筒", None),
    ("rider_zhou", "周大哥", Role.RIDER, "小哥传声筒", None),
]

# The riders sign in by text message too: with the default `console` provider the code is in the server's log.
DEMO_PHONES = {
    "rider_zhang": "+8613800138001",
    "rider_chen": "+8613800138002",
    "rider_liu": "+8613800138003",
    "rider_zhao": "+8613800138004",
    "rider_sun": "+8613800138005",
    "rider_zhou": "+8613800138006",
}

NOTES = {
    "illegal_parking": "人行道上停了三辆电动车和一辆轿车，行人只能走机动车道",
    "noise": "夜里十一点后烧烤店音响很大",
    "elevator_hazard": "3号楼2单元电梯门关不严，运行时有异响",
    "fire_lane_blocked": "小区消防通道被货车堵住",
    "road_damage": "路面有一个大坑，雨天积水，电动车容易摔",
    "manhole_missing": "井盖缺失，已用纸箱临时挡住",
    "streetlight_broken": "这一段路灯连续几晚不亮",
    "garbage": "垃圾桶旁堆满装修垃圾",
    "street_vending": "水果摊占了半条人行道",
    "other": "公交站牌倾斜",
}

# The path each demo report travels (by the triage workflow, once it has moved).
PATHS = [
    [],
    [],
    [Status.ACCEPTED.value],
    [Status.ACCEPTED.value, Status.ASSIGNED.value],
    [Status.ACCEPTED.value, Status.ASSIGNED.value, Status.IN_PROGRESS.value],
    [Status.ACCEPTED.value, Status.ASSIGNED.value, Status.RESOLVED.value],
    [Status.ACCEPTED.value, Status.ASSIGNED.value, Status.RESOLVED.value, Status.CLOSED.value],
    [Status.REJECTED.value],
    [Status.DUPLICATE.value],
]


def is_empty() -> bool:
    """True when no user exists yet."""
    return not db.session.scalar(select(func.count()).select_from(User))


def demo_photo(colour: str, seed: int) -> bytes:
    """A simple street-scene picture for demo reports (no real faces or plates)."""
    rnd = random.Random(seed)
    im = Image.new("RGB", (1200, 900), (135, 170, 200))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 520, 1200, 900], fill=(90, 90, 95))
    d.rectangle([0, 480, 1200, 540], fill=(170, 170, 160))
    for x in range(0, 1200, 150):
        h = rnd.randint(150, 420)
        d.rectangle([x + 5, 480 - h, x + 140, 480], fill=(rnd.randint(150, 220),) * 3)
    d.ellipse([500, 560, 760, 760], fill=colour, outline=(255, 255, 255), width=8)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=80)
    return out.getvalue()


def load_demo(n_reports: int = 36) -> str:
    """Create the demo accounts and a few dozen reports in different states over the last weeks."""
    seed_reference_data()
    depts = {d.code: d for d in db.session.scalars(select(Department))}
    users = {}
    for username, name, role, team, dept in PEOPLE:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            user = create_user(
                username,
                PASSWORD,
                role,
                display_name=name,
                team=team,
                department_id=depts[dept].id if dept else None,
                phone=DEMO_PHONES.get(username),
            )
            if role in STAFF_ROLES:
                user.email = f"{username}@example.org"
        users[username] = user
    users.update(load_county(depts))
    riders = [u for u in users.values() if u.is_rider]
    cats = list(db.session.scalars(select(Category)))
    rnd = random.Random(2026)
    store = photo_store()
    now = utcnow()
    made = 0
    for i in range(n_reports):
        cat = cats[i % len(cats)]
        rider = riders[i % len(riders)]
        lat = CENTRE[0] + rnd.uniform(-0.012, 0.012)
        lon = CENTRE[1] + rnd.uniform(-0.015, 0.015)
        report, created = submit_report(
            rider,
            store,
            category=cat.code,
            photos=[demo_photo(cat.color, i)],
            description=NOTES.get(cat.code, ""),
            lat=lat,
            lon=lon,
            accuracy=rnd.choice([8, 12, 25, 40]),
            location_source="device",
            idempotency_key=f"demo-{i}",
        )
        if not created:
            continue
        made += 1
        age = timedelta(days=rnd.uniform(0, 28), hours=rnd.uniform(0, 12))
        _backdate(report, now - age)
        walk(report, PATHS[i % len(PATHS)], users)
    db.session.commit()
    return f"demo loaded: {len(users)} users, {made} new reports (password for every demo account: {PASSWORD})"


def load_county(depts: dict) -> dict:
    """The county town's community grids with their workers (handlers of the grid's department) and its
    landmarks, when the database has no grids yet; returns the grid workers by user name."""
    workers = {}
    if db.session.scalar(select(func.count()).select_from(Grid)):
        return workers
    import_grids(json.dumps({"type": "FeatureCollection", "features": county.grid_features()}, ensure_ascii=False))
    for (code, name, dept), surname in zip(county.COMMUNITIES, county.WORKER_NAMES, strict=True):
        username = "grid_" + code.lower().replace("-", "")
        worker = db.session.scalar(select(User).where(User.username == username)) or create_user(
            username,
            PASSWORD,
            Role.HANDLER,
            display_name=f"网格员 {surname}（{name.removeprefix('玉津镇')}）",
            department_id=depts[dept].id,
        )
        db.session.scalar(select(Grid).where(Grid.code == code)).worker_id = worker.id
        workers[username] = worker
    import_places(json.dumps({"type": "FeatureCollection", "features": county.landmark_features()}, ensure_ascii=False))
    db.session.flush()
    return workers


def _backdate(report: Report, when) -> None:
    """Move a fresh demo report's times into the past, keeping its deadlines relative."""
    shift = report.created_at - when
    for attr in ("created_at", "captured_at", "updated_at", "accept_due_at", "resolve_due_at"):
        setattr(report, attr, getattr(report, attr) - shift)
    report.reference = make_reference(report.id, report.created_at)
    for ev in db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)):
        ev.created_at = ev.created_at - shift


# -- the walk of each demo report through the workflow ----------------------------------------------

DEMO_NOTES = {
    Status.ACCEPTED: "已受理，转相关部门处理",
    Status.ASSIGNED: "请尽快到现场处置",
    Status.IN_PROGRESS: "已到现场，正在处理",
    Status.RESOLVED: "已处理完毕，现场已恢复",
    Status.CLOSED: "回访核查，问题已解决",
    Status.REJECTED: "照片无法看清位置，请重新拍摄后再提交",
}


def walk(report: Report, path: list[str], users: dict) -> None:
    """Move a demo report along `path` with the real transition service, at believable times."""
    rnd = random.Random(report.id)
    coordinators = [u for u in users.values() if u.role == Role.COORDINATOR]
    steps = [
        timedelta(hours=rnd.uniform(0.3, report.category.accept_hours if to == Status.ACCEPTED else 20)) for to in path
    ]
    room = (utcnow() - report.created_at) * 0.9  # a report filed an hour ago moved within that hour
    total = sum(steps, timedelta())
    if total > room:
        steps = [s * (room / total) for s in steps]
    t = report.created_at
    for to, step in zip(path, steps, strict=False):
        t = t + step
        actor = rnd.choice(coordinators)
        kwargs = {}
        if to == Status.ASSIGNED:  # as the dispatch form suggests: by grid, else by category
            suggestion = dispatch_suggestion(report)
            dept = suggestion["department"].id if suggestion["department"] else report.department_id
            handler = suggestion["assignee"] or next(
                (u for u in users.values() if u.is_handler and u.department_id == dept), None
            )
            kwargs = {"department_id": dept, "assignee_id": handler.id if handler else None}
        elif to in (Status.IN_PROGRESS, Status.RESOLVED) and report.status in (Status.ASSIGNED, Status.IN_PROGRESS):
            handler = db.session.get(User, report.assignee_id) if report.assignee_id else None
            actor = handler or actor
        elif to == Status.CLOSED:
            kwargs = {"outcome": Outcome.FIXED}
        elif to == Status.DUPLICATE:
            kwargs = {"duplicate_of": _original(report)}
            if kwargs["duplicate_of"] is None:
                return
        transition(report, actor, to, version=report.version, reply=DEMO_NOTES.get(to, ""), now=t, **kwargs)
    if path:
        report.updated_at = t
        db.session.flush()


def _original(report: Report) -> Report | None:
    """An open report of the same category; the demo duplicate is placed ~25 m from it."""
    original = db.session.scalar(
        select(Report)
        .where(
            Report.category_id == report.category_id,
            Report.id != report.id,
            Report.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .order_by(Report.created_at.desc())
        .limit(1)
    )
    if original is not None:
        report.lat, report.lon = original.lat + 0.0002, original.lon + 0.0001
        report.cell = cell_of(report.lat, report.lon)
    return original


def load_synthetic(n: int, batch: int = 10_000, seed: int = 7) -> int:
    """Insert n synthetic reports (with their events) spread over the last two years, in batches."""
    seed_reference_data()
    rnd = random.Random(seed)
    cats = list(db.session.scalars(select(Category)))
    riders = list(db.session.scalars(select(User).where(User.role == Role.RIDER)))
    if not riders:
        riders = [create_user("bench_rider", PASSWORD, Role.RIDER, display_name="压测骑手")]
        db.session.flush()
    next_id = (db.session.scalar(select(func.max(Report.id))) or 0) + 1
    next_event = (db.session.scalar(select(func.max(ReportEvent.id))) or 0) + 1
    now = utcnow()
    span = timedelta(days=730).total_seconds()
    done = 0
    while done < n:
        reports, events = [], []
        for _ in range(min(batch, n - done)):
            cat = rnd.choice(cats)
            created = now - timedelta(seconds=rnd.random() * span)
            lat = CENTRE[0] + rnd.gauss(0, 0.03)
            lon = CENTRE[1] + rnd.gauss(0, 0.03)
            status, evs = _synthetic_history(rnd, created, now, cat)
            accepted = next((t for t, _f, to in evs if to == Status.ACCEPTED.value), None)
            rid = next_id
            next_id += 1
            reports.append(
                {
                    "id": rid,
                    "reference": make_reference(rid, created),
                    "user_id": rnd.choice(riders).id,
                    "category_id": cat.id,
                    "status": status,
                    "description": "",
                    "building": "",
                    "lat": lat,
                    "lon": lon,
                    "cell": cell_of(lat, lon),
                    "accuracy": 15.0,
                    "location_source": "device",
                    "source": "web",
                    "attributes": {},
                    "contact": {},
                    "captured_at": created,
                    "created_at": created,
                    "updated_at": evs[-1][0],
                    "version": len(evs),
                    "priority": Priority.URGENT.value if cat.hazard else Priority.NORMAL.value,
                    "department_id": cat.default_department_id,
                    "accept_due_at": created + timedelta(hours=cat.accept_hours),
                    "resolve_due_at": created + timedelta(hours=cat.resolve_hours),
                    "accepted_at": accepted,
                    "first_accepted_at": accepted,  # accepted once at most here
                    "resolved_at": next((t for t, _f, to in evs if to == Status.RESOLVED.value), None),
                    "closed_at": next((t for t, _f, to in evs if to == Status.CLOSED.value), None),
                    "outcome": "fixed" if status == Status.CLOSED.value else None,
                }
            )
            for at, frm, to in evs:
                events.append(
                    {
                        "id": next_event,
                        "report_id": rid,
                        "actor_id": None,
                        "created_at": at,
                        "kind": Status.SUBMITTED.value if frm is None else "transition",
                        "from_status": frm,
                        "to_status": to,
                        "note": "",
                        "internal": False,
                        "details": {},
                    }
                )
                next_event += 1
        db.session.execute(insert(Report), reports)
        db.session.execute(insert(ReportEvent), events)
        db.session.commit()
        done += len(reports)
    _reset_sequences()
    return done


def _synthetic_history(rnd: random.Random, created, now, cat):
    """A plausible status history for a synthetic report: list of (time, from, to)."""
    evs = [(created, None, Status.SUBMITTED.value)]
    t = created
    roll = rnd.random()
    path = (
        [Status.ACCEPTED.value, Status.ASSIGNED.value, Status.RESOLVED.value, Status.CLOSED.value]
        if roll < 0.7
        else [Status.REJECTED.value]
        if roll < 0.8
        else [Status.ACCEPTED.value, Status.ASSIGNED.value]
        if roll < 0.9
        else []
    )
    prev = Status.SUBMITTED.value
    for to in path:
        t = t + timedelta(hours=rnd.expovariate(1 / (cat.accept_hours if to == Status.ACCEPTED.value else 24)))
        if t > now:
            break
        evs.append((t, prev, to))
        prev = to
    return prev, evs


def _reset_sequences() -> None:
    """PostgreSQL sequences must move past explicitly inserted ids."""
    if db.engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    for table in ("report", "report_event"):
        db.session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))")
        )
    db.session.commit()
