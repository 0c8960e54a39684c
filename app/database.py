"""Engine settings: SQLite gets WAL, foreign keys, a busy timeout, a memory map and a larger page cache;
PostgreSQL is left as is."""
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.extensions import db


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
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA mmap_size={mmap_bytes}")
        cur.execute(f"PRAGMA cache_size=-{cache_kib}")  # negative: KiB, not pages
        cur.close()
