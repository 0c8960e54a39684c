"""Engine settings: SQLite gets WAL, foreign keys, a busy timeout, a memory map, a larger page cache and
statistics kept fresh for its query planner; PostgreSQL is left as is (its autovacuum analyzes)."""
import time
from contextlib import contextmanager
from typing import Iterator

from flask import Flask, current_app
from sqlalchemy import BigInteger, Integer, event, text
from sqlalchemy.engine import Engine

from app.extensions import db

BUSY_TIMEOUT_MS = 15000
# `PRAGMA optimize` on a connection once an hour (and when it first goes back to the pool): SQLite then
# runs ANALYZE on the tables this connection's queries used that were never analyzed or have grown a
# lot. Without statistics its planner prefers ix_report_status_created for "every open report, newest
# first" and sorts them all over the partial index that stops after 50.
# A full ANALYZE, not a sampled one: sampled statistics (`analysis_limit`, which `PRAGMA optimize` sets on
# its own from SQLite 3.46 unless the mask leaves out 0x10) send the board and the duplicate lookup to the
# wrong indexes. The full one runs when a table was never analyzed (so while it is small) or has grown many
# times over since; it then costs the request whose connection goes back to the pool its duration and holds
# the write lock meanwhile: rare, and far cheaper than a board sorting every open report on every load
# (the figures: docs/PERFORMANCE.md).
OPTIMIZE_EVERY_S = 3600
OPTIMIZE_MASK = 0x02  # run ANALYZE where it helps, with no analysis limit


def init_database(app: Flask) -> None:
    """Tune each new SQLite connection of this app's engine."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    mmap_bytes = max(0, int(app.config.get("SQLITE_MMAP_MB", 0))) * 1024 * 1024
    cache_kib = max(1, int(app.config.get("SQLITE_CACHE_MB", 2))) * 1024
    with app.app_context():
        engine: Engine = db.engine

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA mmap_size={mmap_bytes}")
        cur.execute(f"PRAGMA cache_size=-{cache_kib}")  # negative: KiB, not pages
        cur.close()

    @event.listens_for(engine, "checkin")
    def _sqlite_optimize(dbapi_conn, record):
        if dbapi_conn is None:
            return
        now = time.monotonic()
        if now - record.info.get("optimized_at", -OPTIMIZE_EVERY_S) < OPTIMIZE_EVERY_S:
            return
        record.info["optimized_at"] = now
        optimize(dbapi_conn)


def optimize(dbapi_conn) -> None:
    """`PRAGMA optimize` on one SQLite connection. It does not wait to start: if another connection is
    writing, the statistics are refreshed next time."""
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA busy_timeout=50")
        cur.execute(f"PRAGMA optimize({OPTIMIZE_MASK:#x})")
        dbapi_conn.commit()
    except Exception:  # busy, read-only or closing: statistics are an optimisation, never an error
        try:
            dbapi_conn.rollback()
        except Exception:
            pass
    finally:
        try:
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except Exception:
            pass
        cur.close()


@contextmanager
def snapshot() -> Iterator[None]:
    """Reads that all see the database as it was at the first of them, in a session of their own.

    A report built from several statements (the weekly summary) must not count a report filed between
    two of them in one and not in the other. PostgreSQL's default (READ COMMITTED) and Python's sqlite3
    (no transaction around SELECTs) give each statement its own view; here PostgreSQL runs a read-only
    REPEATABLE READ transaction and SQLite one read transaction (WAL keeps its snapshot). A new app
    context gives the block its own `db.session`, so what the caller has loaded or changed is untouched;
    nothing read inside should be used outside it (ORM objects go with the session)."""
    with current_app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.connection(execution_options={"isolation_level": "REPEATABLE READ",
                                                     "postgresql_readonly": True})
        elif db.engine.dialect.name == "sqlite":
            db.session.execute(text("BEGIN"))
        try:
            yield
        finally:
            db.session.rollback()


# Declared twice in the models, one form per dialect (.ddl_if), which Alembic's comparison does not see:
# tests/integration/test_migrations.py checks their columns on each database instead.
DIALECT_INDEXES = frozenset({"ix_event_created_moves"})


def autogenerate_options() -> dict:
    """Alembic's options for comparing the models with a database (`flask db migrate`, the drift test)."""
    return {"compare_type": _compare_type, "include_object": _include_object}


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and name in DIALECT_INDEXES)


def _compare_type(context, inspected_column, metadata_column, inspected_type, metadata_type):
    # SQLite's INTEGER is already 64-bit: report.cell stays INTEGER there (7c1e0b2d9a41 widens it on
    # PostgreSQL only). None: Alembic's own comparison.
    if (context.dialect.name == "sqlite" and isinstance(metadata_type, BigInteger)
            and isinstance(inspected_type, Integer)):
        return False
    return None
