"""Triage board and duplicate lookup speed on 1,000,000 synthetic reports.

Prints, measured in the same run:
- the board's first page (open statuses, newest first, 50 rows, counts per status) through the
  Flask test client as a logged-in coordinator: p50 and p95 over --requests requests, for the HTML
  page (/board) and the JSON list (/api/v1/reports);
- the raw SQL behind it: the statements the board query and the counts send, captured while
  they run and replayed through the bare DB-API cursor (p50/p95), and the ratio board / raw SQL;
- a trivial request through the same test client (/healthz), to show the framework's own floor;
- the duplicate lookup (duplicate_candidates) p50/p95 over --lookups random open reports.
Targets: board p95 <= 3x the raw SQL and < 100 ms; duplicate lookup < 10 ms.

    .venv/bin/python bench/triage.py [--reports 1000000] [--requests 50] [--lookups 200]

The database is built once with `flask --app app demo load --reports N` into
GRIDSNAP_TRIAGE_BENCH_DB (default /tmp/gridsnap-triage-bench-<N>.db) and reused by later runs.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
BOARD_URL = "/board"
API_URL = "/api/v1/reports?per_page=50"


def db_path(n: int) -> str:
    return os.environ.get("GRIDSNAP_TRIAGE_BENCH_DB", f"/tmp/gridsnap-triage-bench-{n}.db")


def make_app(path: str):
    from app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + path,
            "GEOCODER": "",
            "UPLOAD_DIR": os.path.join(tempfile.gettempdir(), "gridsnap-bench-uploads"),
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "bench",
        }
    )


def ensure_database(path: str, n: int) -> None:
    """Build the database with the demo CLI in a side file, then rename it into place."""
    if not os.path.exists(path):
        side = f"{path}.building-{os.getpid()}"
        env = dict(
            os.environ,
            DATABASE_URL="sqlite:///" + side,
            GRIDSNAP_UPLOAD_DIR=os.path.join(tempfile.gettempdir(), "gridsnap-bench-uploads"),
        )
        flask = os.path.join(ROOT, ".venv", "bin", "flask")
        t = time.perf_counter()
        subprocess.run(
            [flask, "--app", "app", "db", "upgrade"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
        subprocess.run(
            [flask, "--app", "app", "demo", "load", "--reports", str(n)],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"built {n} synthetic reports in {time.perf_counter() - t:.0f} s", flush=True)
        import sqlite3

        con = sqlite3.connect(side)
        con.execute("ANALYZE")
        con.commit()
        con.close()
        for suffix in ("-wal", "-shm", ""):  # the main file last: its appearance means "ready"
            if os.path.exists(side + suffix):
                os.rename(side + suffix, path + suffix)
    app = make_app(path)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()  # indexes from migrations newer than the cached file


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def ms(v: float) -> str:
    return f"{v * 1000:.2f} ms"


def time_requests(client, url: str, count: int) -> list[float]:
    out = []
    for _ in range(count):
        t = time.perf_counter()
        resp = client.get(url)
        out.append(time.perf_counter() - t)
        assert resp.status_code == 200, (url, resp.status_code)
    return out


def _plan(captured) -> str:
    """SQLite's EXPLAIN QUERY PLAN of a captured statement, on one line."""
    from app.extensions import db

    statement, parameters = captured
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        return "; ".join(row[-1] for row in cur.fetchall())
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--lookups", type=int, default=200)
    args = parser.parse_args()
    path = db_path(args.reports)
    ensure_database(path, args.reports)

    from sqlalchemy import func, select
    from werkzeug.datastructures import MultiDict

    from app.extensions import db
    from app.models import Report, User
    from app.triage import board, duplicates
    from bench.capture import replay, statements

    app = make_app(path)
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Report))
        coordinator = db.session.scalar(select(User).where(User.role == "coordinator").limit(1))
        from app.auth.services import start_session

        login_id = start_session(coordinator).id  # the session cookie names a login, not a user
        db.session.commit()
        db.session.remove()
    print(f"database {path}: {total} reports", flush=True)

    client = app.test_client()
    with client.session_transaction() as sess:  # log in as a coordinator without the login form
        sess["_user_id"] = str(login_id)
        sess["_fresh"] = True
    for url in (BOARD_URL, API_URL, "/healthz"):
        time_requests(client, url, 3)  # warm caches (page cache, statement cache, templates)
    page = time_requests(client, BOARD_URL, args.requests)
    api = time_requests(client, API_URL, args.requests)
    trivial = time_requests(client, "/healthz", args.requests)

    with app.app_context():
        # The statements of the board's data (rows + counts), captured and replayed raw.
        f = board.parse_filter(MultiDict())
        with statements(db.engine) as captured:
            rows = board.board_rows(f)
            counts = board.status_counts(f)
        db.session.rollback()
        raw = replay(db.engine, captured, args.requests, warm=3)

        plans = {"board": _plan(captured[0]) if captured else "?"}

        # Duplicate lookups for random open reports of the last 14 days (where candidates exist).
        rnd = random.Random(3)
        max_id = db.session.scalar(select(func.max(Report.id)))
        ids = []
        while len(ids) < args.lookups:
            ids.append(rnd.randint(1, max_id))
        lookups, found = [], 0
        probe = db.session.get(Report, ids[0])
        with statements(db.engine, marker="report.cell IN") as dup_sql:
            duplicates.duplicate_candidates(probe)
        plans["duplicates"] = _plan(dup_sql[0])
        for rid in ids:
            report = db.session.get(Report, rid)
            if report is None:
                continue
            t = time.perf_counter()
            found += len(duplicates.duplicate_candidates(report))
            lookups.append(time.perf_counter() - t)
            db.session.expunge_all()

    for name, plan in plans.items():
        print(f"query plan ({name}): {plan}")
    print(f"board first page: {len(rows)} rows, open {counts['open']}, statements {len(captured)}")
    p50, p95 = statistics.median(page), pct(page, 0.95)
    r50, r95 = statistics.median(raw), pct(raw, 0.95)
    print(f"GET {BOARD_URL} (HTML): p50 {ms(p50)}  p95 {ms(p95)}  over {len(page)} requests")
    print(f"GET {API_URL} (JSON): p50 {ms(statistics.median(api))}  p95 {ms(pct(api, 0.95))}")
    print(f"raw SQL behind the page (bare DB-API cursor): p50 {ms(r50)}  p95 {ms(r95)}")
    print(f"GET /healthz through the same client (framework floor): p50 {ms(statistics.median(trivial))}")
    print(
        f"ratio board p95 / raw SQL p95: {p95 / r95:.1f}x (target <= 3x: {'met' if p95 <= 3 * r95 else 'NOT met'})"
        f"; board p95 < 100 ms: {'met' if p95 < 0.1 else 'NOT met'}"
    )
    print(f"ratio board p50 / raw SQL p50: {p50 / r50:.1f}x")
    print(f"ratio JSON p95 / raw SQL p95: {pct(api, 0.95) / r95:.1f}x; p50 / p50: {statistics.median(api) / r50:.1f}x")
    d95 = pct(lookups, 0.95)
    print(
        f"duplicate lookup: p50 {ms(statistics.median(lookups))}  p95 {ms(d95)}  over {len(lookups)} reports "
        f"({found} candidates in all; target < 10 ms: {'met' if d95 < 0.01 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
