"""Open311 GET requests speed on 1,000,000 synthetic reports (the triage bench's database).

Prints, measured in the same run, for each query below: p50 and p95 through the Flask test client
(JSON), the raw SQL behind it (the statements captured while it runs, replayed through the bare
DB-API cursor), and the ratio. A trivial request (/open311/discovery.json) shows the framework's floor.
Queries: the default (last 90 days, up to 1000 rows), status=open, one service_code, a bbox, and
page_size=50. Most of a 1000-row answer is building and serialising 1000 documents; the ratio shows
how much. Then mySociety's servicerequestupdates as FixMyStreet's poller asks for it: the two hours
up to the newest update, and the whole last day.

    .venv/bin/python bench/open311.py [--reports 1000000] [--requests 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from triage import db_path, ensure_database, make_app, ms, pct, time_requests  # noqa: E402

QUERIES = ["", "status=open", "service_code=illegal_parking", "bbox=103.94,29.20,103.96,29.22", "page_size=50"]


def raw_sql(app, args: dict, count: int) -> tuple[list[float], int]:
    """Replay the statements of find_requests + public_notes through the bare cursor."""
    from werkzeug.datastructures import MultiDict

    from app.api import open311_services as services
    from app.extensions import db
    from bench.capture import replay, statements

    with app.test_request_context():
        q = services.parse_query(MultiDict(args))
        with statements(db.engine) as captured:
            reports = services.find_requests(q)
            services.public_notes(reports)
        db.session.rollback()
        out = replay(db.engine, captured, count, warm=2)
        db.session.remove()
    return out, len(reports)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    path = db_path(args.reports)
    ensure_database(path, args.reports)
    app = make_app(path)
    client = app.test_client()
    floor = time_requests(client, "/open311/discovery.json", args.requests)
    print(f"GET /open311/discovery.json (framework floor): p50 {ms(statistics.median(floor))}")
    for query in QUERIES:
        url = "/open311/v2/requests.json" + (f"?{query}" if query else "")
        time_requests(client, url, 2)  # warm caches
        timed = time_requests(client, url, args.requests)
        raw, rows = raw_sql(app, dict(p.split("=", 1) for p in query.split("&") if p), args.requests)
        p95, r95 = pct(timed, 0.95), pct(raw, 0.95)
        print(
            f"GET {url}: {rows} rows  p50 {ms(statistics.median(timed))}  p95 {ms(p95)} | raw SQL p50 "
            f"{ms(statistics.median(raw))}  p95 {ms(r95)} | ratio p95 {p95 / r95:.1f}x",
            flush=True,
        )
    bench_updates(app, client, args.requests)


def raw_updates_sql(app, args: dict, count: int) -> tuple[list[float], int]:
    """Replay the statements of the updates feed through the bare cursor."""
    from werkzeug.datastructures import MultiDict

    from app.api import open311_updates as updates
    from app.extensions import db
    from bench.capture import replay, statements

    with app.test_request_context():
        window = updates.parse_window(MultiDict(args))
        with statements(db.engine) as captured:
            rows = updates.find_updates(window)
        db.session.rollback()
        out = replay(db.engine, captured, count, warm=2)
        db.session.remove()
    return out, len(rows)


def bench_updates(app, client, count: int) -> None:
    """The updates feed over windows ending at the newest public update."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import ReportEvent

    with app.app_context():
        newest = db.session.scalar(select(func.max(ReportEvent.created_at)))
        db.session.remove()
    for hours in (2, 24):
        args = {
            "start_date": (newest - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_date": newest.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        url = "/open311/v2/servicerequestupdates.xml?start_date={start_date}&end_date={end_date}".format(**args)
        time_requests(client, url, 2)
        timed = time_requests(client, url, count)
        raw, rows = raw_updates_sql(app, args, count)
        p95, r95 = pct(timed, 0.95), pct(raw, 0.95)
        print(
            f"GET servicerequestupdates.xml, {hours} h: {rows} updates  p50 {ms(statistics.median(timed))}  "
            f"p95 {ms(p95)} | raw SQL p50 {ms(statistics.median(raw))}  p95 {ms(r95)} | ratio p95 {p95 / r95:.1f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
