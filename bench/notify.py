"""Notification speed: delivery throughput, commit-to-bell latency, and one escalation pass at 1,000,000 reports.

Prints, measured in the same run, on a fresh SQLite database in a temp folder (--moves moves: each report
accepted, then dispatched to a handler whose department has a generic webhook, committing each move; a move
to accepted tells the rider in the app, a dispatch tells the handler in the app and the department's group
through a local ThreadingHTTPServer receiver on 127.0.0.1, in its own process, that answers 200 at once):
- throughput: the outbox those moves left, drained by deliver_due() batches (limit 100) as the worker does,
  in deliveries per second (all, and robot posts per second with the whole drain charged to them); then as
  many webhook-only deliveries, in rounds of 1,000, each drained and followed by its floor: as many bare urllib
  POSTs of a like body to the same receiver from one thread; the ratio worker / bare POST shows the delivery
  code's own overhead. Target: >= 500 per second to the receiver;
- latency: a real worker process (`flask --app app worker`, default poll) running while this script makes
  --latency-moves moves at a steady --rate per second; for each notification, its move's commit time against
  its `delivered_at` (stamped by the worker) and against the moment a reader polling every 20 ms first saw it
  delivered (what the bell would see): p50, p95, max. Target: p95 <= 2 s. With --receiver-delay the receiver
  answers that much later in this part: an in-app delivery is committed with the outside ones of its batch;
- escalation: one pass (run_pass) over the 1,000,000-report database of bench/summary.py (GRIDSNAP_BENCH_DB,
  built by it when missing, about half an hour), at --passes moments a minute apart, each with the job mark a
  minute before it (the worker's once-a-minute window); the pass's writes are rolled back. Its floor is the
  raw SQL it sent, captured and replayed through the bare DB-API cursor. Target: < 1 s.

    .venv/bin/python bench/notify.py [--moves 10000] [--latency-moves 1200] [--rate 20] [--receiver-delay 0]
                                     [--passes 7] [--skip-escalation]

Machines here are noisy (2 cores shared): run it a few times and compare the ratios.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
RIDERS = 50


class Receiver(BaseHTTPRequestHandler):
    """A generic webhook receiver that takes the body and answers 200 at once, counting messages."""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.delay.value:
            time.sleep(self.server.delay.value)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with self.server.count.get_lock():
            self.server.count.value += 1

    def log_message(self, *args):
        pass


def _serve(count, delay, port) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads, server.count, server.delay = True, count, delay
    port.send(server.server_address[1])
    server.serve_forever(poll_interval=0.05)


class ReceiverProcess:
    """The receiver in its own process, so its work does not share the deliverer's interpreter lock."""

    def __init__(self):
        self._count = multiprocessing.Value("l", 0)
        self.delay = multiprocessing.Value("d", 0.0)  # seconds before each answer (0: at once)
        parent, child = multiprocessing.Pipe()
        self.proc = multiprocessing.Process(target=_serve, args=(self._count, self.delay, child), daemon=True)
        self.proc.start()
        self.url = f"http://127.0.0.1:{parent.recv()}/hook"

    @property
    def count(self) -> int:
        return self._count.value

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join(5)


def make_app(path: str, tmp: str):
    from app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + path,
            "GEOCODER": "",
            "SECRET_KEY": "bench",
            "UPLOAD_DIR": os.path.join(tmp, "uploads"),
            "NOTIFY_QUIET_HOURS": "off",
        }
    )


def setup(n_reports: int, receiver_url: str) -> dict:
    """Migrations, a coordinator, a handler of a department with a generic webhook, riders, and
    n_reports submitted reports (inserted directly: filing is not what is measured here)."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from app.auth.services import create_user
    from app.demo import CENTRE
    from app.extensions import db
    from app.models import Category, Department, Report, ReportEvent, User, utcnow
    from app.reports.geo import cell_of
    from app.reports.services import make_reference

    upgrade()
    dept = db.session.scalar(select(Department).where(Department.code == "traffic_police"))
    dept.webhook_kind, dept.webhook_url = "generic", receiver_url
    coord = create_user("bench_coord", "bench-password", "coordinator")
    handler = create_user("bench_handler", "bench-password", "handler", department_id=dept.id)
    first = create_user("bench_rider_0", "bench-password", "rider")
    db.session.flush()
    db.session.execute(
        insert(User),
        [
            {
                "username": f"bench_rider_{i}",
                "display_name": f"压测骑手{i}",
                "password_hash": first.password_hash,
                "role": "rider",
                "active": True,
                "approved": True,
            }
            for i in range(1, RIDERS)
        ],
    )
    riders = list(db.session.scalars(select(User.id).where(User.role == "rider")))
    cat = db.session.scalar(select(Category).where(Category.hazard.is_(False)).order_by(Category.id).limit(1))
    now = utcnow()
    reports, events = [], []
    for i in range(n_reports):
        rid, created = i + 1, now - timedelta(minutes=10)
        lat, lon = CENTRE[0] + (i % 100) * 1e-4, CENTRE[1] + (i // 100 % 100) * 1e-4
        reports.append(
            {
                "id": rid,
                "reference": make_reference(rid, created),
                "user_id": riders[i % len(riders)],
                "category_id": cat.id,
                "status": "submitted",
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
                "updated_at": created,
                "version": 1,
                "priority": "normal",
                "department_id": cat.default_department_id,
                "accept_due_at": created + timedelta(hours=cat.accept_hours),
                "resolve_due_at": created + timedelta(hours=cat.resolve_hours),
            }
        )
        events.append(
            {
                "report_id": rid,
                "actor_id": None,
                "created_at": created,
                "kind": "submitted",
                "from_status": None,
                "to_status": "submitted",
                "note": "",
                "internal": False,
                "details": {},
            }
        )
    db.session.execute(insert(Report), reports)
    db.session.execute(insert(ReportEvent), events)
    db.session.commit()
    return {"coord": coord.id, "handler": handler.id, "dept": dept.id}


def two_moves(report_id: int, people: dict, on_commit=None) -> None:
    """Accept the report, commit; dispatch it to the handler, commit (as the triage page does)."""
    from app.extensions import db
    from app.models import Report, User
    from app.triage.services import transition

    coord = db.session.get(User, people["coord"])
    for to, kw in (("accepted", {}), ("assigned", {"assignee_id": people["handler"]})):
        r = db.session.get(Report, report_id)
        transition(r, coord, to, version=r.version, **kw)
        db.session.commit()
        if on_commit:
            on_commit()


def bare_posts(url: str, count: int) -> float:
    """Seconds for `count` urllib POSTs of a body like the generic webhook's, one thread."""
    body = json.dumps(
        {
            "kind": "dispatched",
            "title": "新的派单 R-0000000",
            "lines": {
                "编号": "R-0000000",
                "类别": "违章停车",
                "地点": "29.22540, 103.95070",
                "优先级": "普通",
                "期限": "2026-12-08 15:00",
            },
            "url": "http://localhost:5000/reports/1",
            "key": "0" * 32,
        },
        ensure_ascii=False,
    ).encode()
    t = time.perf_counter()
    for i in range(count):
        req = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "X-GridSnap-Delivery": f"{i:032d}"},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            resp.read()
    return time.perf_counter() - t


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def throughput(app, people: dict, n_reports: int, receiver) -> None:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.notify.delivery import deliver_due
    from app.notify.models import Channel, Delivery, DeliveryState

    with app.app_context():
        t = time.perf_counter()
        for rid in range(1, n_reports + 1):
            two_moves(rid, people)
            db.session.expunge_all()
        moves = time.perf_counter() - t
        by_channel = dict(db.session.execute(select(Delivery.channel, func.count()).group_by(Delivery.channel)).all())
        db.session.remove()
        print(
            f"{2 * n_reports} moves committed one by one in {moves:.1f} s ({2 * n_reports / moves:.0f} moves/s); "
            f"outbox: {by_channel}",
            flush=True,
        )

        before, batches = receiver.count, 0
        t = time.perf_counter()
        while deliver_due(limit=100):
            batches += 1
            db.session.remove()
        drain = time.perf_counter() - t
        posted = receiver.count - before
        sent = dict(db.session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all())
        db.session.remove()
    robots = by_channel.get(Channel.ROBOT.value, 0)
    total = sum(by_channel.values())
    assert posted == robots and sent == {DeliveryState.SENT.value: total}, (posted, robots, sent)

    # The same number of messages for the department's group alone, in rounds of up to 1,000, each drain
    # followed by as many bare POSTs: interleaved, so load from other work hits both alike.
    alone, floor, rounds = 0.0, 0.0, []
    for start in range(1, robots + 1, 1000):
        ids = range(start, min(start + 1000, robots + 1))
        with app.app_context():
            from app.models import Department, Report
            from app.notify.outbox import notify

            dept = db.session.get(Department, people["dept"])
            for rid in ids:
                notify(
                    "dispatched",
                    department=dept,
                    report=db.session.get(Report, rid),
                    params={"category": "illegal_parking", "to": "assigned"},
                )
            db.session.commit()
            db.session.remove()
            before = receiver.count
            t = time.perf_counter()
            while deliver_due(limit=100):
                db.session.remove()
            took = time.perf_counter() - t
            assert receiver.count - before == len(ids), (receiver.count - before, len(ids))
        bare = bare_posts(receiver.url, len(ids))
        alone, floor = alone + took, floor + bare
        rounds.append((len(ids) / took, took / bare))
    print(
        f"deliver_due drain of the moves' outbox: {total} deliveries ({robots} to the webhook, {total - robots} "
        f"in-app) in {batches} batches, {drain:.2f} s: {total / drain:.0f} deliveries/s "
        f"({robots / drain:.0f} webhook posts/s with the whole drain charged to them)"
    )
    print(
        f"deliver_due drain of {robots} webhook-only deliveries: {alone:.2f} s, {robots / alone:.0f} posts/s "
        f"(rounds: {', '.join(f'{r:.0f}' for r, _ in rounds)})"
    )
    print(
        f"floor: {robots} bare urllib POSTs to the same receiver, one thread: {floor:.2f} s, "
        f"{robots / floor:.0f} posts/s"
    )
    print(
        f"ratio worker / bare POSTs (time, webhook-only drain): {alone / floor:.2f}x "
        f"(rounds: {', '.join(f'{q:.2f}' for _, q in rounds)}); "
        f"target >= 500 webhook deliveries/s: {'met' if robots / alone >= 500 else 'NOT met'}",
        flush=True,
    )


def start_worker(db_path: str, tmp: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": "sqlite:///" + db_path,
        "SECRET_KEY": "bench",
        "GRIDSNAP_QUIET_HOURS": "off",
        "GRIDSNAP_GEOCODER": "",
        "PYTHONPATH": ROOT,
        "GRIDSNAP_INSTANCE_DIR": os.path.join(tmp, "instance"),
        "GRIDSNAP_UPLOAD_DIR": os.path.join(tmp, "uploads"),
    }
    log = open(os.path.join(tmp, "worker.log"), "wb")
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


class Watcher(threading.Thread):
    """Polls the notification table every 20 ms from its own connection: when each was first seen delivered."""

    def __init__(self, db_path: str):
        super().__init__(daemon=True)
        self.path, self.seen, self.low = db_path, {}, 0
        self.done = threading.Event()

    def run(self):
        con = sqlite3.connect(self.path, timeout=15)
        while not self.done.is_set():
            rows = con.execute(
                "SELECT id FROM notification WHERE id > ? AND delivered_at IS NOT NULL", (self.low,)
            ).fetchall()
            now = time.time()
            for (nid,) in rows:
                self.seen.setdefault(nid, now)
            con.commit()  # end the read transaction: see the next commits
            time.sleep(0.02)
        con.close()


def latency(app, db_path: str, tmp: str, people: dict, first_report: int, moves: int, rate: float) -> None:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.notify.models import Notification

    with app.app_context():
        low = db.session.scalar(select(func.max(Notification.id))) or 0
        db.session.remove()
    watcher = Watcher(db_path)
    watcher.low = low
    worker = start_worker(db_path, tmp)
    try:
        time.sleep(3)  # the worker's start-up and its first periodic pass
        committed: dict[int, float] = {}
        last = [low]

        def on_commit():
            at = time.time()
            for nid, user_id in db.session.execute(
                select(Notification.id, Notification.user_id).where(Notification.id > last[0])
            ):
                if user_id is not None:  # in the bell; a department's notification goes to its robot only
                    committed[nid] = at
                last[0] = max(last[0], nid)

        watcher.start()
        with app.app_context():
            t0 = time.perf_counter()
            for i in range(moves // 2):
                wait = t0 + 2 * i / rate - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                two_moves(first_report + i, people, on_commit)
                db.session.expunge_all()
            took = time.perf_counter() - t0
            db.session.remove()
        deadline = time.time() + 60
        while time.time() < deadline and not set(committed) <= set(watcher.seen):
            time.sleep(0.1)
        watcher.done.set()
        watcher.join(5)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
    with app.app_context():
        stamped = {
            nid: at and at.timestamp()
            for nid, at in db.session.execute(
                select(Notification.id, Notification.delivered_at).where(Notification.id > low)
            )
        }
        db.session.remove()
    missing = [nid for nid in committed if nid not in watcher.seen or stamped.get(nid) is None]
    if missing:
        with open(os.path.join(tmp, "worker.log"), errors="replace") as fh:
            print("worker log (last lines):\n" + "".join(fh.readlines()[-15:]))
    by_stamp = [stamped[n] - at for n, at in committed.items() if stamped.get(n) is not None]
    by_sight = [watcher.seen[n] - at for n, at in committed.items() if n in watcher.seen]
    print(
        f"latency: {2 * (moves // 2)} moves in {took:.1f} s ({2 * (moves // 2) / took:.1f} moves/s, asked "
        f"{rate:g}), {len(committed)} in-app notifications, {len(missing)} not delivered within 60 s after"
    )
    for name, values in (("commit -> delivered_at", by_stamp), ("commit -> seen delivered (20 ms poll)", by_sight)):
        if values:
            print(
                f"  {name}: p50 {statistics.median(values):.3f} s  p95 {pct(values, 0.95):.3f} s  "
                f"max {max(values):.3f} s  (negative: {sum(v < 0 for v in values)})"
            )
    if by_sight:
        p95 = pct(by_sight, 0.95)
        print(f"target p95 <= 2 s (as seen): {'met' if p95 <= 2 and not missing else 'NOT met'}", flush=True)


def escalation(passes: int) -> None:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Report, utcnow
    from app.notify.escalation import JOB, due_between, run_pass
    from app.notify.models import JobMark
    from bench.capture import replay, statements
    from bench.summary import DB, ensure_database
    from bench.summary import make_app as summary_app

    ensure_database()
    app = summary_app(DB)
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Report))
        now = utcnow().replace(microsecond=0)
        moments = [now - timedelta(minutes=k) for k in range(passes, -1, -1)]  # the first one warms up
        service, raw, found, counts = [], [], [], []
        for i, moment in enumerate(moments):
            mark = db.session.get(JobMark, JOB)
            if mark is None:
                db.session.add(JobMark(name=JOB, ran_until=moment - timedelta(minutes=1)))
            else:
                mark.ran_until = moment - timedelta(minutes=1)
            db.session.commit()
            db.session.remove()  # a fresh session, as the worker's pass has
            with statements(db.engine) as captured:
                t = time.perf_counter()
                done = run_pass(moment)
                took = time.perf_counter() - t
            db.session.rollback()
            window = len(due_between(moment - timedelta(minutes=1), moment))
            db.session.rollback()
            floor = replay(db.engine, captured, 1)[0]
            if i:
                service.append(took)
                raw.append(floor)
                found.append(len(done))
                counts.append((len(captured), window))
        db.session.remove()
    svc, floor = statistics.median(service), statistics.median(raw)
    print(f"escalation on {DB}: {total} reports; {len(service)} passes at one-minute moments, each a minute's window")
    print(f"  escalations per pass {found}; statements per pass and reports read (due in the window) {counts}")
    print(f"  run_pass: median {svc * 1000:.1f} ms (min {min(service) * 1000:.1f}, max {max(service) * 1000:.1f})")
    print(f"  raw SQL behind it (same statements, bare DB-API cursor): median {floor * 1000:.1f} ms")
    print(f"  ratio pass / raw SQL: {svc / floor:.1f}x; target < 1 s: {'met' if svc < 1 else 'NOT met'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", type=int, default=10_000, help="moves for the throughput part (two per report)")
    parser.add_argument("--latency-moves", type=int, default=1_200)
    parser.add_argument("--rate", type=float, default=20.0, help="moves per second while the worker runs")
    parser.add_argument(
        "--receiver-delay",
        type=float,
        default=0.0,
        help="seconds the webhook receiver waits before answering, in the latency part only",
    )
    parser.add_argument("--passes", type=int, default=7, help="escalation passes (timed; one more warms up)")
    parser.add_argument("--skip-escalation", action="store_true")
    args = parser.parse_args()

    receiver = ReceiverProcess()
    with tempfile.TemporaryDirectory(prefix="gridsnap-notify-bench-") as tmp:
        path = os.path.join(tmp, "notify.db")
        app = make_app(path, tmp)
        n1, n2 = args.moves // 2, args.latency_moves // 2
        with app.app_context():
            people = setup(n1 + n2, receiver.url)
        throughput(app, people, n1, receiver)
        receiver.delay.value = args.receiver_delay
        latency(app, path, tmp, people, n1 + 1, args.latency_moves, args.rate)
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()
    receiver.stop()
    if not args.skip_escalation:
        escalation(args.passes)


if __name__ == "__main__":
    main()
