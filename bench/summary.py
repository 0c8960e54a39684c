"""Weekly summary speed on 1,000,000 synthetic reports over two years, with their events.

Prints the time to build one week's summary (median of several runs) and its ratio to the
raw SQL behind it: every statement the service sends, captured while it runs and replayed
through the bare DB-API cursor in the same run. Targets: under 1 s, at most 3x the raw SQL.

    .venv/bin/python bench/summary.py [--week 2026-W47] [--runs 5]

The database is shared with the other benchmarks (GRIDSNAP_BENCH_DB, default
/tmp/gridsnap-bench-1m.db); it is built once (migrations, demo, load_synthetic) if missing.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DB = os.environ.get("GRIDSNAP_BENCH_DB", "/tmp/gridsnap-bench-1m.db")
N = int(os.environ.get("GRIDSNAP_BENCH_REPORTS", "1000000"))


def make_app(path: str):
    from app import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + path,
                       "UPLOAD_DIR": os.path.join(tempfile.gettempdir(), "gridsnap-bench-uploads"),
                       "GEOCODER": ""})


def ensure_database() -> None:
    """Build the shared database in a side file and rename it into place (atomic), unless it exists."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    if not os.path.exists(DB):
        side = f"{DB}.building-{os.getpid()}"
        app = make_app(side)
        with app.app_context():
            upgrade()
            from app import demo
            from app.extensions import db
            demo.load_demo()
            t = time.perf_counter()
            demo.load_synthetic(N)
            print(f"built {N} synthetic reports in {time.perf_counter() - t:.0f} s", flush=True)
            db.session.execute(text("ANALYZE"))
            db.session.commit()
            db.engine.dispose()
        for suffix in ("-wal", "-shm", ""):  # the main file last: its appearance means "ready"
            if os.path.exists(side + suffix):
                os.rename(side + suffix, DB + suffix)
    app = make_app(DB)
    with app.app_context():
        upgrade()  # new indexes from later migrations
        from app.extensions import db
        from app.models import Report
        print(f"database {DB}: {db.session.scalar(select(func.count()).select_from(Report))} reports", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--week", default=None, help="week name (default: the last complete week)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ensure_database()

    from sqlalchemy import event
    from app.extensions import db
    from app.summaries.services import weekly_summary

    app = make_app(DB)
    with app.app_context():
        captured: list[tuple[str, object]] = []

        def capture(_conn, _cursor, statement, parameters, _context, _many):
            captured.append((statement, parameters))

        weekly_summary(args.week)  # warm the page cache and the SQLAlchemy statement cache
        event.listen(db.engine, "before_cursor_execute", capture)
        s = weekly_summary(args.week)
        event.remove(db.engine, "before_cursor_execute", capture)
        db.session.rollback()

        service, raw = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            weekly_summary(args.week)
            service.append(time.perf_counter() - t)
            db.session.rollback()
            dbapi = db.engine.raw_connection()
            try:
                cur = dbapi.cursor()
                t = time.perf_counter()
                for statement, parameters in captured:
                    cur.execute(statement, parameters)
                    cur.fetchall()
                raw.append(time.perf_counter() - t)
                cur.close()
            finally:
                dbapi.close()

        from app.summaries import services
        t = time.perf_counter()
        services._leaders(s.start, s.end, 5)
        leaders = time.perf_counter() - t

    svc, floor = statistics.median(service), statistics.median(raw)
    print(f"week {s.week}: received {s.received}, resolved {s.resolved}, open at end {s.open_at_end}, "
          f"overdue at end {s.overdue_at_end}, {len(s.hotspots)} hotspots")
    print(f"statements per summary: {len(captured)}")
    print(f"weekly_summary: median {svc * 1000:.0f} ms over {args.runs} runs "
          f"(of which the points league tables ~{leaders * 1000:.0f} ms)")
    print(f"raw SQL behind it (same statements, bare DB-API cursor): median {floor * 1000:.0f} ms")
    print(f"ratio service / raw SQL: {svc / floor:.2f}x  (target <= 3x; time target < 1000 ms: "
          f"{'met' if svc < 1 else 'NOT met'})")


if __name__ == "__main__":
    main()
