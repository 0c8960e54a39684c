"""Data migrations: a database at an earlier revision, with data, upgraded to the head."""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from app import create_app
from app.extensions import db
from tests.conftest import need

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path, pg_url):
    """An empty database of its own (the session's shared one is already at the head)."""
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "old.db")
        return
    need(pg_url is not None, "PostgreSQL not configured: set TEST_DATABASE_URL")
    from tests.servers import PostgresDatabase

    database = PostgresDatabase(pg_url, prefix="gs_mig").create()
    yield database.url
    database.drop()


def old_user(username: str, team_id=None) -> int:
    """A rider row through Core, naming only columns every revision has (create_user's ORM model is the head's)."""
    import sqlalchemy as sa

    user = sa.table(
        "user",
        *(
            sa.column(c)
            for c in (
                "id",
                "username",
                "display_name",
                "password_hash",
                "role",
                "team_id",
                "active",
                "approved",
                "wants_digest",
                "created_at",
            )
        ),
    )
    row = {
        "username": username,
        "display_name": username,
        "password_hash": "!",
        "role": "rider",
        "team_id": team_id,
        "active": True,
        "approved": True,
        "wants_digest": False,
        "created_at": T0,
    }
    return db.session.execute(user.insert().values(**row).returning(user.c.id)).scalar_one()


def seed_with_the_migration(engine) -> None:
    """The reference rows, written as the reference-data migration writes them: Core inserts of the columns
    every revision has (the ORM models describe the head, whose columns an older schema lacks)."""
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    module = ScriptDirectory.from_config(config).get_revision("b7d2e9f4a0c1").module
    with engine.begin() as connection:
        module.seed(connection)


@contextmanager
def at_revision(url: str, tmp_path, revision: str):
    """The app on a database built up to `revision`, with the reference data; disposed of afterwards."""
    from flask_migrate import upgrade

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "test",
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "GEOCODER": "",
        }
    )
    with app.app_context():
        upgrade(revision=revision)
        seed_with_the_migration(db.engine)
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def test_first_accepted_at_and_the_latest_close_are_filled_from_the_timeline(fresh_url, tmp_path):
    from flask_migrate import upgrade

    from app.models import Category, Report, ReportEvent

    with at_revision(fresh_url, tmp_path, "a9e4c2d7f105"):
        rider_id = old_user("r1")
        db.session.commit()
        cat = db.session.scalar(select(Category.id).where(Category.code == "noise"))
        base = {
            "user_id": rider_id,
            "category_id": cat,
            "lat": 29.2,
            "lon": 103.9,
            "cell": 1,
            "created_at": T0,
            "captured_at": T0,
            "updated_at": T0,
        }
        moves = {  # report id: its status now and its moves (hours after filing)
            1: ("submitted", []),
            2: ("accepted", [(1, "accepted")]),
            # accepted, closed, reopened (accepted again), closed again: first acceptance and latest close
            3: ("closed", [(1, "accepted"), (5, "closed"), (30, "accepted"), (40, "closed")]),
            4: ("rejected", [(2, "rejected")]),
        }
        for rid, (status, steps) in moves.items():
            db.session.execute(
                insert(Report.__table__),
                [
                    {
                        **base,
                        "id": rid,
                        "status": status,
                        "closed_at": T0 + timedelta(hours=5) if status == "closed" else None,
                    }
                ],
            )
            rows = [{"report_id": rid, "kind": "submitted", "to_status": "submitted", "created_at": T0}]
            prev = "submitted"
            for hours, to in steps:
                rows.append(
                    {
                        "report_id": rid,
                        "kind": "transition",
                        "from_status": prev,
                        "to_status": to,
                        "created_at": T0 + timedelta(hours=hours),
                    }
                )
                prev = to
            # a comment repeats the status: not a move
            rows.append(
                {
                    "report_id": rid,
                    "kind": "comment",
                    "from_status": prev,
                    "to_status": "accepted",
                    "created_at": T0 + timedelta(minutes=10),
                }
            )
            db.session.execute(insert(ReportEvent.__table__), rows)
        db.session.commit()

        upgrade()

        got = {r.id: (r.first_accepted_at, r.closed_at) for r in db.session.scalars(select(Report))}
        assert got[1] == (None, None)
        assert got[2] == (T0 + timedelta(hours=1), None)
        assert got[3] == (T0 + timedelta(hours=1), T0 + timedelta(hours=40))
        assert got[4][0] is None


def test_backlog_counts_are_filled_from_the_reports_and_kept_after_a_round_trip(fresh_url, tmp_path):
    from flask_migrate import downgrade, upgrade

    from app.models import Category, Department, Report, Team
    from tests.expectations import backlog_counted, backlog_from_rows

    with at_revision(fresh_url, tmp_path, "d3b8f1a6c920"):
        team = Team(name="犍路先锋")
        db.session.add(team)
        db.session.flush()
        member, loner = old_user("r1", team_id=team.id), old_user("r2")
        db.session.commit()
        cats = db.session.scalars(select(Category.id).order_by(Category.id)).all()
        dept = db.session.scalar(select(Department.id))
        statuses = ("submitted", "accepted", "assigned", "in_progress", "resolved", "closed", "rejected", "duplicate")
        db.session.execute(
            insert(Report.__table__),
            [
                {
                    "user_id": (member, loner)[i % 2],
                    "category_id": cats[i % 3],
                    "lat": 29.2,
                    "lon": 103.9,
                    "cell": 1,
                    "status": statuses[i % len(statuses)],
                    "department_id": dept if i % 4 else None,
                    "accept_due_at": T0 + timedelta(hours=2) if i % 5 else None,
                    "resolve_due_at": T0 + timedelta(days=7) if i % 7 else None,
                    "created_at": T0,
                    "captured_at": T0,
                    "updated_at": T0,
                }
                for i in range(60)
            ],
        )
        db.session.commit()

        upgrade()
        want = backlog_from_rows()
        assert sum(want.values()) == sum(1 for i in range(60) if i % 8 < 5) and backlog_counted() == want
        db.session.commit()  # no open read holding the tables the downgrade drops
        downgrade(revision="d3b8f1a6c920")
        upgrade()
        assert backlog_counted() == want


def test_the_models_and_the_migrations_describe_the_same_schema(app):
    """What `flask db migrate` would write on a database at the head: nothing (a model changed without
    its migration, or the reverse, fails here), and the index declared per dialect has its right form."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from app.database import autogenerate_options

    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts=autogenerate_options()), db.metadata) == []
    moves = {i["name"]: i for i in inspect(db.engine).get_indexes("report_event")}["ix_event_created_moves"]
    keys = ["created_at", "kind", "to_status", "from_status", "report_id"]
    if db.engine.dialect.name == "sqlite":
        assert moves["column_names"] == keys + ["details"]
    else:
        assert (moves["column_names"], moves["dialect_options"]["postgresql_include"]) == (keys, ["details"])


def test_the_status_sets_in_the_trigger_sql_are_the_workflows(app):
    """The triggers that keep the backlog counts write the open and working statuses out in SQL (a
    migration cannot call Python): each set they name must be the workflow's."""
    import re

    from sqlalchemy import text

    from app.triage.workflow import OPEN_STATUSES, RESOLVE_DEADLINE_STATUSES, Status

    if db.engine.dialect.name == "sqlite":
        sql = db.session.scalars(text("SELECT sql FROM sqlite_master WHERE type = 'trigger'")).all()
    else:
        sql = db.session.scalars(text("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal")).all()
        sql += db.session.scalars(
            text(
                "SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n "
                "ON n.oid = p.pronamespace WHERE n.nspname = current_schema()"
            )
        ).all()
    names = {s.value for s in Status}
    sets = set()
    for found in re.findall(r"IN \(([^()]*)\)", "\n".join(sql)):
        values = frozenset(re.findall(r"'([a-z_]+)'", found))
        if values and values <= names:
            sets.add(values)
    assert sets, "no status set found in the triggers"
    workflow_sets = {frozenset(s.value for s in OPEN_STATUSES), frozenset(s.value for s in RESOLVE_DEADLINE_STATUSES)}
    assert sets <= workflow_sets, sets - workflow_sets
    assert frozenset(s.value for s in OPEN_STATUSES) in sets


def test_a_report_may_wait_for_its_pin_and_categories_are_dated_after_the_upgrade(fresh_url, tmp_path):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from app.models import Category, Report

    with at_revision(fresh_url, tmp_path, "028aa30bc09f"):
        rider = old_user("r1")
        db.session.commit()
        cat = db.session.scalar(select(Category.id).where(Category.code == "noise"))
        row = {
            "user_id": rider,
            "category_id": cat,
            "status": "submitted",
            "description": "",
            "building": "",
            "location_source": "none",
            "source": "open311",
            "attributes": {},
            "contact": {},
            "captured_at": T0,
            "created_at": T0,
            "updated_at": T0,
            "version": 1,
            "priority": "normal",
        }
        report = Report.__table__.insert()
        with pytest.raises(IntegrityError):  # before: NOT NULL
            db.session.execute(report, [{**row, "lat": None, "lon": None, "cell": None}])
        db.session.rollback()
        db.session.execute(report, [{**row, "lat": 29.2, "lon": 103.9, "cell": 1}])
        db.session.commit()

        upgrade()

        assert all(d is not None for d in db.session.scalars(select(Category.updated_at)))
        db.session.execute(report, [{**row, "address": "新民街", "lat": None, "lon": None, "cell": None}])
        db.session.commit()
        waiting = db.session.scalar(select(Report).where(Report.lat.is_(None)))
        assert waiting.address == "新民街" and not waiting.has_location
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        db.session.commit()  # no transaction left open: a downgrade's DDL on report would wait for it (PostgreSQL)
        with pytest.raises(SystemExit):  # flask-migrate logs "1 reports have no location yet" and exits
            downgrade(revision="028aa30bc09f")
        db.session.rollback()
        # The refused downgrade may have stepped back the later revisions already (SQLite's DDL is not in the
        # transaction): the pin is set through the table, not the model of the newest schema.
        db.session.execute(Report.__table__.update().where(Report.lat.is_(None)).values(lat=29.2, lon=103.9, cell=1))
        db.session.commit()
        downgrade(revision="028aa30bc09f")
        with pytest.raises(IntegrityError):  # NOT NULL again
            db.session.execute(report, [{**row, "lat": None, "lon": None, "cell": None}])
        db.session.rollback()
        upgrade()
