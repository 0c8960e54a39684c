"""report_backlog_count: the open reports per (category, grid, department, team, status, dated), kept by
database triggers, must equal what the report rows say after every kind of write, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, select, text, update

from app.extensions import db
from app.grids.models import Grid
from app.models import Category, Department, Report, Team, User, utcnow
from app.triage import services as triage
from tests import factories as f
from tests.expectations import backlog_counted, backlog_from_rows


def check() -> None:
    db.session.expire_all()
    assert backlog_counted() == backlog_from_rows()


def test_counts_follow_every_kind_of_write(app):
    boss = f.make_user("coord", role="coordinator")
    a = f.make_user("ra", team="犍路先锋")
    b = f.make_user("rb", team="小哥传声筒")
    loner = f.make_user("rc")
    reports = [
        f.report_row(u, category=c) for u in (a, b, loner) for c in ("illegal_parking", "elevator_hazard", "noise")
    ]
    check()

    # The workflow: accept, assign to a department, start, resolve, close, reopen; reject; duplicate.
    dept = db.session.scalar(select(Department).order_by(Department.id))
    r = reports[0]
    for to, kw in (
        ("accepted", {}),
        ("assigned", {"department_id": dept.id}),
        ("in_progress", {}),
        ("resolved", {"note": "修好了"}),
        ("closed", {"outcome": "fixed"}),
        ("accepted", {"note": "又坏了"}),
    ):
        triage.transition(r, boss, to, version=r.version, **kw)
        db.session.commit()
        check()
    triage.transition(reports[1], boss, "rejected", version=reports[1].version, note="不属实")
    db.session.commit()
    triage.transition(reports[2], boss, "duplicate", version=reports[2].version, duplicate_of=reports[5].id)
    db.session.commit()
    check()

    # Riders change team, leave one, join one; a team is dissolved.
    other = db.session.scalar(select(Team).where(Team.name == "小哥传声筒"))
    a.team_id = other.id
    db.session.commit()
    check()
    loner.team_id = other.id
    b.team_id = None
    db.session.commit()
    check()
    # A report handed to another rider (in another team): both riders' teams are read.
    db.session.execute(update(Report).where(Report.id == reports[3].id).values(user_id=a.id))  # b has no team now
    db.session.commit()
    check()

    # Grids drawn and removed, a category changed, deadlines cleared and set, by bulk UPDATE as well.
    grid = Grid(
        code="G01", name="一网格", geometry={"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    )
    db.session.add(grid)
    db.session.flush()
    db.session.execute(update(Report).where(Report.id.in_([x.id for x in reports[3:7]])).values(grid_id=grid.id))
    noise = db.session.scalar(select(Category.id).where(Category.code == "noise"))
    reports[4].category_id = noise
    reports[5].accept_due_at = None
    reports[0].resolve_due_at = None
    db.session.commit()
    check()
    reports[5].accept_due_at = utcnow() + timedelta(hours=3)
    db.session.execute(update(Report).where(Report.grid_id == grid.id).values(grid_id=None))
    db.session.commit()
    check()

    # Bulk inserts (as the demo loader writes) and deletes.
    cat = db.session.scalar(select(Category).where(Category.code == "garbage"))
    now = utcnow()
    db.session.execute(
        insert(Report),
        [
            {
                "user_id": u.id,
                "category_id": cat.id,
                "lat": 29.2,
                "lon": 103.9,
                "cell": 1,
                "status": status,
                "created_at": now,
                "captured_at": now,
                "updated_at": now,
                "accept_due_at": now + timedelta(hours=24),
                "resolve_due_at": now + timedelta(days=7),
                "department_id": dept.id,
            }
            for u in (a, b, loner)
            for status in ("submitted", "assigned", "closed", "resolved")
        ],
    )
    db.session.commit()
    check()
    db.session.execute(delete(Report).where(Report.category_id == cat.id, Report.status != "assigned"))
    db.session.commit()
    check()


def test_a_rolled_back_write_leaves_the_counts_alone(app):
    a = f.make_user("ra", team="犍路先锋")
    f.report_row(a)
    before = backlog_counted()
    db.session.execute(update(Report).values(status="closed"))
    db.session.execute(update(User).values(team_id=None))
    db.session.rollback()
    assert backlog_counted() == before == backlog_from_rows()


# ---- PostgreSQL: concurrent writers (SQLite has one writer at a time) --------------------------------


def _postgresql_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers: SQLite lets one write at a time")


def _in_thread(app, work) -> tuple[threading.Thread, dict]:
    """Run work() on its own connection in another thread; returns the thread and where its error goes."""
    failed: dict = {}

    def run():
        try:
            with app.app_context():
                work()
        except Exception as exc:  # reported by the test
            failed["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, failed


def test_a_bulk_move_and_a_single_move_queue_instead_of_deadlocking(app):
    """A bulk move holds what its first report took while it moves the next; a single move of a report in
    another group meanwhile must wait for it, not deadlock with it (PostgreSQL aborted one of the two)."""
    _postgresql_only()
    rider = f.make_user("ra", team="犍路先锋")
    first = f.report_row(rider, category="noise").id
    other, then = (f.report_row(rider, category="illegal_parking").id for _ in range(2))
    move = text("UPDATE report SET status = 'accepted' WHERE id = :id")
    with db.engine.connect() as bulk:
        tx = bulk.begin()
        bulk.execute(move, {"id": first})
        thread, failed = _in_thread(app, lambda: (db.session.execute(move, {"id": other}), db.session.commit()))
        time.sleep(0.5)  # the single move is waiting now
        bulk.execute(move, {"id": then})
        tx.commit()
    thread.join(10)
    assert not thread.is_alive() and not failed, failed
    check()


@pytest.mark.parametrize("write", ["move", "same group", "other group"])
def test_a_report_written_while_its_rider_changes_team_counts_under_the_new_team(app, write):
    """Neither write sees the other's uncommitted row: the report's write waits for the team change."""
    _postgresql_only()
    rider = f.make_user("ra", team="犍路先锋")
    f.make_user("rb", team="小哥传声筒")
    filed = f.report_row(rider)
    new_team = db.session.scalar(select(Team.id).where(Team.name == "小哥传声筒"))
    rider_id, report_id = rider.id, filed.id

    def work():
        if write == "move":
            db.session.execute(text("UPDATE report SET status = 'accepted' WHERE id = :id"), {"id": report_id})
            db.session.commit()
        else:
            f.report_row(
                db.session.get(User, rider_id), category="illegal_parking" if write == "same group" else "noise"
            )

    with db.engine.connect() as admin:
        tx = admin.begin()
        admin.execute(update(User).where(User.id == rider_id).values(team_id=new_team))
        thread, failed = _in_thread(app, work)
        thread.join(0.5)
        assert thread.is_alive()  # waiting for the team change
        tx.commit()
    thread.join(10)
    assert not thread.is_alive() and not failed, failed
    check()
