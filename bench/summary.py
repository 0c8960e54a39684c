"""Weekly summary speed on 1,000,000 synthetic reports over two years, with their events.

Prints the time to build one week's summary (median of several runs) and its ratio to the
raw SQL behind it: every statement the service sends, captured while it runs and replayed
through the bare DB-API cursor in the same run. Targets: under 1 s, at most 3x the raw SQL.

    .venv/bin/python bench/summary.py [--week 2026-W47] [--runs 5]
    .venv/bin/python bench/summary.py --archive [--weeks 104] [--fresh-archive] [--requests 60] [--per-week]
        [--backfill-only]

--archive measures the published weeks instead (the archive, app/summaries/archive.py): the back-fill of
the last WEEKS complete weeks (each week's publish timed; the floor is the raw SQL of one publish, replayed),
a published week's page from the server (p95 over REQUESTS through the app, the floor the raw SQL of one
request replayed), and 104 weeks of trends (the service and the page; the floor its SQL). Targets: page
p95 <= 50 ms, back-fill <= 3 s per week, trends <= 200 ms. The back-fill writes published_summary rows:
point GRIDSNAP_BENCH_DB at a copy of the shared database (the migration it needs is applied to it).

The database (GRIDSNAP_BENCH_DB, default /tmp/gridsnap-bench-1m.db) is built once if missing and
reused: migrations, the demo, demo.load_synthetic (1,000,000 reports over two years with their events,
about half an hour on two busy cores), then 64 grids, 240 riders in 12 teams, duplicates that name their
original and some reopened reports. load_synthetic leaves one report in five never handled, so about
220,000 reports are open at the end of a recent week; the backlog starts from report_backlog_count
(kept by triggers, ~19,000 rows), so the largest query is now the two weeks' moves (~44,000 events, read
from ix_event_created_moves alone). Machines here are noisy: run it a few times and compare the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DB = os.environ.get("GRIDSNAP_BENCH_DB", "/tmp/gridsnap-bench-1m.db")
N = int(os.environ.get("GRIDSNAP_BENCH_REPORTS", "1000000"))


def make_app(path: str):
    from app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + path,
            "UPLOAD_DIR": os.path.join(tempfile.gettempdir(), "gridsnap-bench-uploads"),
            "GEOCODER": "",
        }
    )


def spread_over_grids_and_teams(grids_per_side: int = 8, riders: int = 240, teams: int = 12) -> None:
    """Give the synthetic reports what real ones have: grids (an 8 x 8 block), many riders in teams,
    some duplicates and some reopened reports, so every breakdown of the summary has work to do."""
    from datetime import datetime, timedelta

    from sqlalchemy import insert, select, text, update

    from app.demo import CENTRE
    from app.extensions import db
    from app.grids.models import Grid
    from app.models import Report, ReportEvent, Team, User

    step, lat0, lon0 = 0.015, CENTRE[0] - 0.06, CENTRE[1] - 0.06
    db.session.execute(
        insert(Grid),
        [
            {
                "code": f"B{r:02d}{c:02d}",
                "name": f"压测网格{r}-{c}",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [lon0 + c * step, lat0 + r * step],
                            [lon0 + (c + 1) * step, lat0 + r * step],
                            [lon0 + (c + 1) * step, lat0 + (r + 1) * step],
                            [lon0 + c * step, lat0 + (r + 1) * step],
                            [lon0 + c * step, lat0 + r * step],
                        ]
                    ],
                },
            }
            for r in range(grids_per_side)
            for c in range(grids_per_side)
        ],
    )
    db.session.execute(insert(Team), [{"name": f"压测车队{i:02d}"} for i in range(teams)])
    team_ids = list(db.session.scalars(select(Team.id).where(Team.name.like("压测车队%")).order_by(Team.id)))
    pw = db.session.scalar(select(User.password_hash).limit(1))
    db.session.execute(
        insert(User),
        [
            {
                "username": f"bench_{i:04d}",
                "display_name": f"压测骑手{i}",
                "password_hash": pw,
                "role": "rider",
                "team_id": team_ids[i % teams] if i % 10 else None,
                "active": True,
                "approved": True,
            }
            for i in range(riders)
        ],
    )
    first = db.session.scalar(select(User.id).where(User.username == "bench_0000"))
    first_grid = db.session.scalar(select(Grid.id).where(Grid.code == "B0000"))
    db.session.execute(
        text(
            "UPDATE report SET user_id = :first + (id * 7919) % :riders, grid_id = CASE "
            "WHEN lat >= :lat0 AND lat < :lat1 AND lon >= :lon0 AND lon < :lon1 THEN "
            ":g0 + CAST((lat - :lat0) / :step AS INTEGER) * :side + CAST((lon - :lon0) / :step AS INTEGER) END"
        ),
        {
            "first": first,
            "riders": riders,
            "lat0": lat0,
            "lon0": lon0,
            "step": step,
            "side": grids_per_side,
            "lat1": lat0 + step * grids_per_side,
            "lon1": lon0 + step * grids_per_side,
            "g0": first_grid,
        },
    )
    # One rejection in four was really a duplicate; one closed report in fifty was reopened a day later.
    db.session.execute(
        text("UPDATE report_event SET to_status = 'duplicate' WHERE to_status = 'rejected' AND report_id % 4 = 0")
    )
    db.session.execute(text("UPDATE report SET status = 'duplicate' WHERE status = 'rejected' AND id % 4 = 0"))
    mark_duplicates_of_their_neighbour()
    now = datetime.now(UTC)
    closed = [
        (rid, at + timedelta(days=1))
        for rid, at in db.session.execute(
            select(ReportEvent.report_id, ReportEvent.created_at).where(
                ReportEvent.to_status == "closed", ReportEvent.report_id % 50 == 0
            )
        )
        if at + timedelta(days=1) < now
    ]
    db.session.execute(
        insert(ReportEvent),
        [
            {
                "report_id": rid,
                "created_at": at,
                "kind": "transition",
                "from_status": "closed",
                "to_status": "accepted",
                "note": "",
                "internal": False,
                "details": {},
            }
            for rid, at in closed
        ],
    )
    ids = [rid for rid, _at in closed]
    for i in range(0, len(ids), 900):
        db.session.execute(
            update(Report).where(Report.id.in_(ids[i : i + 900])).values(status="accepted"),
            execution_options={"synchronize_session": False},
        )
    db.session.commit()


def mark_duplicates_of_their_neighbour() -> None:
    """A duplicate always names the report it duplicates (the triage service requires it): here the
    report filed just before it, recorded on the report and in the event, as triage does."""
    from sqlalchemy import text

    from app.extensions import db

    db.session.execute(
        text(
            "UPDATE report SET duplicate_of_id = id - 1 WHERE status = 'duplicate' "
            "AND duplicate_of_id IS NULL AND id > 1"
        )
    )
    db.session.execute(
        text(
            "UPDATE report_event SET details = json_object('duplicate_of', report_id - 1) "
            "WHERE to_status = 'duplicate' AND report_id > 1"
        )
    )
    db.session.commit()


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
            spread_over_grids_and_teams()
            print(f"built {N} synthetic reports in {time.perf_counter() - t:.0f} s", flush=True)
            db.session.execute(text("ANALYZE"))
            db.session.commit()
            db.engine.dispose()
        for suffix in ("-wal", "-shm", ""):  # the main file last: its appearance means "ready"
            if os.path.exists(side + suffix):
                os.rename(side + suffix, DB + suffix)
    app = make_app(DB)
    with app.app_context():
        from app.extensions import db
        from app.models import Report

        upgrade()  # new indexes from later migrations
        unmeasured = db.session.scalars(
            text(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('report', 'report_event') "
                "AND name NOT LIKE 'sqlite_autoindex%' AND name NOT IN (SELECT idx FROM sqlite_stat1)"
            )
        ).all()
        if unmeasured:  # statistics for the new indexes too, as the first build has for the others
            print(f"ANALYZE for {', '.join(unmeasured)}", flush=True)
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        print(f"database {DB}: {db.session.scalar(select(func.count()).select_from(Report))} reports", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--week", default=None, help="week name (default: the last complete week)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--archive", action="store_true", help="measure the published weeks instead")
    parser.add_argument("--weeks", type=int, default=104, help="--archive: weeks to back-fill")
    parser.add_argument("--fresh-archive", action="store_true", help="--archive: empty the archive first")
    parser.add_argument("--requests", type=int, default=60, help="--archive: page requests to time")
    parser.add_argument("--per-week", action="store_true", help="--archive: print each week's publish time")
    parser.add_argument("--backfill-only", action="store_true", help="--archive: skip the page and the trends")
    args = parser.parse_args()
    ensure_database()
    if args.archive:
        archive_bench(args)
        return

    from app.extensions import db
    from app.summaries.services import weekly_summary
    from bench.capture import replay, statements

    app = make_app(DB)
    with app.app_context():
        weekly_summary(args.week)  # warm the page cache and the SQLAlchemy statement cache
        with statements(db.engine) as captured:
            s = weekly_summary(args.week)
        db.session.rollback()

        service, raw = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            weekly_summary(args.week)
            service.append(time.perf_counter() - t)
            db.session.rollback()
            raw += replay(db.engine, captured, 1)  # interleaved: load on the machine hits both alike

        from app.summaries import services

        t = time.perf_counter()
        services._leaders(s.start, s.end, 5)
        leaders = time.perf_counter() - t

    svc, floor = statistics.median(service), statistics.median(raw)
    print(
        f"week {s.week}: received {s.received}, resolved {s.resolved}, open at end {s.open_at_end}, "
        f"overdue at end {s.overdue_at_end}, {len(s.hotspots)} hotspots"
    )
    print(f"statements per summary: {len(captured)}")
    print(
        f"weekly_summary: median {svc * 1000:.0f} ms over {args.runs} runs "
        f"(of which the points league tables ~{leaders * 1000:.0f} ms)"
    )
    print(f"raw SQL behind it (same statements, bare DB-API cursor): median {floor * 1000:.0f} ms")
    print(
        f"ratio service / raw SQL: {svc / floor:.2f}x  (target <= 3x; time target < 1000 ms: "
        f"{'met' if svc < 1 else 'NOT met'})"
    )


def _p95(values: list[float], q: float = 0.95) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def archive_bench(args) -> None:
    """The back-fill per week, a published week's page p95, trends over 104 weeks; each with its floor."""
    from sqlalchemy import delete, select

    from app.auth.services import start_session
    from app.extensions import db
    from app.i18n import local_zone
    from app.models import Role, User
    from app.summaries import archive, trends
    from app.summaries.models import PublishedSummary
    from app.summaries.weeks import last_complete_week
    from bench.capture import replay, statements

    app = make_app(DB)
    with app.app_context():
        if args.fresh_archive:
            db.session.execute(delete(PublishedSummary))
            db.session.commit()
        last = last_complete_week(local_zone())
        first = last.shifted(-(args.weeks - 1))
        todo = archive.unpublished_weeks(first.name)
        per_week: list[tuple[str, float, float, float]] = []  # week, wall s, CPU s, load average
        sample = todo[len(todo) // 2].name if todo else None
        captured: list = []
        walk = archive.backfill(todo)
        while True:
            t, cpu = time.perf_counter(), time.process_time()
            if per_week and per_week[-1][0] == _before(sample, todo):
                with statements(db.engine) as captured:
                    record = next(walk, None)
            else:
                record = next(walk, None)
            if record is None:
                break
            per_week.append((record.week, time.perf_counter() - t, time.process_time() - cpu, os.getloadavg()[0]))
            if args.per_week:
                w, wall, cpu_s, load = per_week[-1]
                print(f"  {w}: {wall:.2f} s (CPU {cpu_s:.2f} s), load {load:.1f}", flush=True)
        if per_week:
            _backfill_figures(per_week)
            if captured:
                mid, mid_cpu = next((wall, c) for w, wall, c, _l in per_week if w == sample)
                reads = [c for c in captured if c[0].lstrip().upper().startswith("SELECT")]
                cpu = time.process_time()
                floor = statistics.median(replay(db.engine, reads, 3))
                floor_cpu = (time.process_time() - cpu) / 3
                print(
                    f"  {sample}: publish {mid:.2f} s (CPU {mid_cpu:.2f} s), raw SQL replayed {floor:.2f} s "
                    f"(CPU {floor_cpu:.2f} s), ratio {mid / floor:.2f}x (CPU {mid_cpu / floor_cpu:.2f}x)"
                )
        else:
            print("back-fill: nothing to do (the archive has these weeks; --fresh-archive to redo)")
        if args.backfill_only:
            return

        coordinator = db.session.scalar(select(User).where(User.role == Role.COORDINATOR.value).limit(1))
        login = start_session(coordinator)
        db.session.commit()
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"], sess["_fresh"] = login.id, True
        week = last.shifted(-8).name
        url = f"/summaries/{week}"
        for _ in range(3):
            assert client.get(url).status_code == 200
        with statements(db.engine) as page_sql:
            client.get(url)
        page, page_floor = [], []
        for i in range(args.requests):
            t = time.perf_counter()
            r = client.get(url)
            page.append(time.perf_counter() - t)
            assert r.status_code == 200 and b"published-badge" in r.data
            if i % 5 == 0:
                page_floor += replay(db.engine, page_sql, 1)
        for fmt in ("json", "csv"):
            t = time.perf_counter()
            client.get(f"{url}.{fmt}")
            print(f"published {week}.{fmt}: {(time.perf_counter() - t) * 1000:.0f} ms")
        p95, floor = _p95(page), statistics.median(page_floor)
        print(
            f"published week page {week}: p95 {p95 * 1000:.1f} ms, median {statistics.median(page) * 1000:.1f} ms "
            f"over {len(page)} requests ({len(page_sql)} statements; raw SQL {floor * 1000:.1f} ms, ratio "
            f"p95 / SQL {p95 / floor:.1f}x; target p95 <= 50 ms: {'met' if p95 <= 0.05 else 'NOT met'})"
        )

        a, b = last.shifted(-103).name, last.name
        trends.trend(a, b, "category", "received")
        with statements(db.engine) as trend_sql:
            trends.trend(a, b, "category", "received")
        service, pages, floor, by_page = [], [], [], {}
        for by in ("total", "category", "grid", "department"):
            for _ in range(10):
                t = time.perf_counter()
                tr = trends.trend(a, b, by, "received")
                service.append(time.perf_counter() - t)
                t = time.perf_counter()
                r = client.get(f"/summaries/trends?from={a}&to={b}&by={by}&figure=received")
                pages.append(time.perf_counter() - t)
                by_page.setdefault(by, []).append(pages[-1])
                assert r.status_code == 200
                floor += replay(db.engine, trend_sql, 1)
        csv_t = time.perf_counter()
        client.get(f"/summaries/trends.csv?from={a}&to={b}&by=grid")
        csv_t = time.perf_counter() - csv_t
        print(
            f"trends {a}..{b} (104 weeks, {len(tr.weeks) - len(tr.missing)} published): service median "
            f"{statistics.median(service) * 1000:.0f} ms; page median {statistics.median(pages) * 1000:.0f} ms, "
            f"p95 {_p95(pages) * 1000:.0f} ms ("
            + ", ".join(f"{k} {statistics.median(v) * 1000:.0f}" for k, v in by_page.items())
            + f" ms); CSV by grid {csv_t * 1000:.0f} ms; raw SQL {statistics.median(floor) * 1000:.0f} ms, ratio "
            f"service / SQL {statistics.median(service) / statistics.median(floor):.1f}x "
            f"(target <= 200 ms: {'met' if _p95(pages) <= 0.2 else 'NOT met'})"
        )


def _backfill_figures(per_week: list[tuple[str, float, float, float]]) -> None:
    """The back-fill's time per week (the first one also loads the walk): wall clock and the process's CPU
    time, which the other work on a shared machine inflates far less; the load average alongside."""
    walls, cpus, loads = ([p[i] for p in per_week] for i in (1, 2, 3))
    slowest = max(per_week, key=lambda p: p[1])
    print(
        f"back-fill: {len(per_week)} weeks {per_week[0][0]}..{per_week[-1][0]}, total {sum(walls):.1f} s "
        f"(CPU {sum(cpus):.1f} s), load average {min(loads):.1f}-{max(loads):.1f} (mean {statistics.mean(loads):.1f})"
    )
    for name, values in (("wall", walls), ("CPU", cpus)):
        print(
            f"  per week {name}: max {max(values):.2f} s, median {statistics.median(values):.2f} s, "
            f"mean {statistics.mean(values):.2f} s, p90 {_p95(values, 0.9):.2f} s; first (loads the walk) "
            f"{values[0]:.2f} s"
        )
    over = [p[0] for p in per_week if p[1] > 3]
    print(
        f"  slowest {slowest[0]}: {slowest[1]:.2f} s (CPU {slowest[2]:.2f} s, load {slowest[3]:.1f}); "
        f"target <= 3 s per week: {'met by every week' if not over else f'NOT met by {len(over)} week(s)'}"
    )


def _before(sample, todo):
    """The week published just before `sample` (its publish is the one captured)."""
    names = [w.name for w in todo]
    return names[names.index(sample) - 1] if sample in names and names.index(sample) > 0 else None


if __name__ == "__main__":
    main()
