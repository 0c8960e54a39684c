"""Load: concurrent riders filing photo reports (and coordinators accepting them) against gunicorn.

For each database (SQLite, then PostgreSQL when a URL is given) the script starts `make serve`'s
gunicorn on a fresh database, lets --riders threads file --reports reports in total, each with a
realistic 12 MP phone photo (4 MB), while --coordinators threads accept them through the API. Then it
checks every acknowledged report exists exactly once with its photos (in the database and the store)
and prints reports/s, p50/p95/p99 latency and the error count. The floor is the photo pipeline's own
rate on the same cores (one process per core, nothing else), sampled before, between and after the
rounds of filing, so each round is compared with what the cores could do at that moment.
Target: no lost or duplicated report, no 5xx, throughput >= 70% of the pipeline's rate.

Run: .venv/bin/python bench/load.py [--reports 200] [--riders 50] [--pg-url postgresql+psycopg://...]
     (--pg-url defaults to TEST_DATABASE_URL; --store s3 puts photos in a local moto S3 server)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from app.ops.serving import default_workers  # noqa: E402
from bench.ingest import make_photo  # noqa: E402
from tests.servers import Gunicorn, MotoS3, PostgresDatabase, prepare_database, s3_bucket, site_app, site_env, wait_for  # noqa: E402

TARGET = 0.70  # load throughput / pipeline rate on the same cores
QIANWEI = (29.2089, 103.9512)


def _pipeline_worker(args: tuple[bytes, int]) -> tuple[float, float]:
    data, runs = args
    from app.reports.photos import process_photo

    process_photo(data)  # imports and caches warm
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(runs):
        process_photo(data)
    return runs / (time.perf_counter() - t0), (time.process_time() - c0) / runs


def pipeline_rate(data: bytes, cores: int, runs: int) -> tuple[float, float]:
    """Photos per second through process_photo with one process per core, and CPU seconds per photo."""
    with ProcessPoolExecutor(cores) as pool:
        results = list(pool.map(_pipeline_worker, [(data, runs)] * cores))
    return sum(r for r, _ in results), statistics.mean(c for _, c in results)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def multipart(fields: dict[str, str], photos: list[bytes]) -> tuple[bytes, str]:
    """A multipart/form-data body as a phone sends it (built with one join: the client stays cheap)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for i, photo in enumerate(photos):
        parts += [
            f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="{i}.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n".encode(),
            photo,
            b"\r\n",
        ]
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Http:
    """One request per connection, as a sync gunicorn worker answers (no keep-alive)."""

    def __init__(self, url: str):
        self.host, self.port = url.split("//", 1)[1].split(":")

    def request(
        self,
        method: str,
        path: str,
        token: str,
        body: bytes | None = None,
        content_type: str | None = None,
        **extra: str,
    ) -> tuple[int, dict | None]:
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=300)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", **extra}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, None


class Load:
    """Riders and coordinators against one server; what they saw is kept for the checks."""

    def __init__(self, url: str, photo: bytes, riders: list[str], coordinators: list[str], photos_per_report: int):
        self.http, self.photo, self.total, self.per = Http(url), photo, 0, photos_per_report
        self.riders, self.coordinators = riders, coordinators
        self.run = uuid.uuid4().hex[:8]
        self.lock = threading.Lock()
        self.next_index = 0
        self.latencies: list[float] = []
        self.acknowledged: dict[str, int] = {}  # idempotency key -> report id
        self.statuses: dict[int, int] = {}
        self.errors: list[str] = []  # 5xx, unexpected statuses and broken connections
        self.moves: dict[int, int] = {}  # report id -> version after the accepted move
        self.conflicts = 0  # 409 stale: two coordinators on one report (expected, not an error)
        self.to_move: queue.Queue = queue.Queue()

    def _count(self, status: int) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def rider(self, token: str, seed: int) -> None:
        rng = random.Random(seed)
        while True:
            with self.lock:
                if self.next_index >= self.total:
                    return
                index, self.next_index = self.next_index, self.next_index + 1
            key = f"load-{self.run}-{index}"
            body, content_type = multipart(
                {
                    "category": "illegal_parking",
                    "lat": f"{QIANWEI[0] + rng.uniform(-0.02, 0.02):.6f}",
                    "lon": f"{QIANWEI[1] + rng.uniform(-0.02, 0.02):.6f}",
                    "accuracy": "12",
                    "description": f"load test report {index}",
                },
                [self.photo] * self.per,
            )
            t0 = time.perf_counter()
            try:
                status, data = self.http.request(
                    "POST", "/api/v1/reports", token, body, content_type, **{"Idempotency-Key": key}
                )
            except OSError as err:
                with self.lock:
                    self.errors.append(f"report {index}: {type(err).__name__}: {err}")
                continue
            elapsed = time.perf_counter() - t0
            self._count(status)
            with self.lock:
                if status == 201:
                    self.latencies.append(elapsed)
                    self.acknowledged[key] = data["id"]
                else:
                    self.errors.append(f"report {index}: HTTP {status} {data}")
            if status == 201:
                self.to_move.put((data["id"], data["version"]))

    def coordinator(self, token: str) -> None:
        while True:
            item = self.to_move.get()
            if item is None:
                return
            report_id, version = item
            body = json.dumps({"to": "accepted", "version": version}).encode()
            try:
                status, data = self.http.request(
                    "POST", f"/api/v1/reports/{report_id}/transitions", token, body, "application/json"
                )
                board, _ = self.http.request("GET", "/api/v1/reports?status=submitted&per_page=20", token)
            except OSError as err:
                with self.lock:
                    self.errors.append(f"move {report_id}: {type(err).__name__}: {err}")
                continue
            self._count(status)
            self._count(board)
            with self.lock:
                if status == 200:
                    self.moves[report_id] = data["version"]
                elif status == 409:
                    self.conflicts += 1
                else:
                    self.errors.append(f"move {report_id}: HTTP {status} {data}")
                if board != 200:
                    self.errors.append(f"board: HTTP {board}")

    def go(self, reports: int) -> tuple[int, float]:
        """File `reports` more reports, let the coordinators catch up; (acknowledged, seconds the riders took)."""
        self.total += reports
        before = len(self.acknowledged)
        movers = [threading.Thread(target=self.coordinator, args=(t,), daemon=True) for t in self.coordinators]
        riders = [
            threading.Thread(target=self.rider, args=(t, self.total + n), daemon=True)
            for n, t in enumerate(self.riders)
        ]
        for t in movers:
            t.start()
        t0 = time.perf_counter()
        for t in riders:
            t.start()
        for t in riders:
            t.join()
        elapsed = time.perf_counter() - t0
        for _ in movers:
            self.to_move.put(None)
        for t in movers:
            t.join()
        return len(self.acknowledged) - before, elapsed


def make_users(env: dict, riders: int, coordinators: int) -> tuple[list[str], list[str]]:
    """Riders and coordinators with API tokens, written straight into the site's database."""
    from app.auth.services import create_token
    from app.extensions import db
    from app.models import User

    app = site_app(env)
    tokens: dict[str, list[str]] = {"rider": [], "coordinator": []}
    with app.app_context():
        for role, n in (("rider", riders), ("coordinator", coordinators)):
            for i in range(n):
                user = User(username=f"{role}{i}", display_name=f"{role} {i}", role=role, password_hash="!")
                db.session.add(user)
                db.session.flush()
                tokens[role].append(create_token(user, "load")[1])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return tokens["rider"], tokens["coordinator"]


def verify(env: dict, load: Load) -> list[str]:
    """Every acknowledged report exactly once with its photos in the store; every move recorded."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Photo, Report
    from app.storage import photo_store

    problems = []
    app = site_app(env)
    with app.app_context():
        rows = db.session.execute(
            select(Report.idempotency_key, func.count(), func.min(Report.id)).group_by(Report.idempotency_key)
        ).all()
        found = {key: (n, rid) for key, n, rid in rows}
        for key, rid in load.acknowledged.items():
            n, first = found.get(key, (0, None))
            if n != 1 or first != rid:
                problems.append(f"{key}: {n} rows (acknowledged as report {rid})")
        extra = set(found) - set(load.acknowledged)
        if extra:
            problems.append(f"{len(extra)} reports in the database were never acknowledged")
        store = photo_store()
        photos = db.session.execute(select(Photo.report_id, Photo.key, Photo.thumb_key)).all()
        per_report: dict[int, int] = {}
        for report_id, key, thumb in photos:
            per_report[report_id] = per_report.get(report_id, 0) + 1
            if not (store.exists(key) and store.exists(thumb)):
                problems.append(f"report {report_id}: photo file missing from the store")
        for rid in load.acknowledged.values():
            if per_report.get(rid, 0) != load.per:
                problems.append(f"report {rid}: {per_report.get(rid, 0)} photos, expected {load.per}")
        statuses = dict(db.session.execute(select(Report.id, Report.status)).all())
        for rid in load.moves:
            if statuses.get(rid) != "accepted":
                problems.append(f"report {rid}: the accepted move is not in the database")
        db.session.remove()
        db.engine.dispose()
    return problems


def run_backend(name: str, database_url: str, folder: str, photo: bytes, args, storage: dict | None) -> dict:
    """One server on one database: rounds of filing, each between two samples of the pipeline's rate."""
    # Few riders filing many reports is the load measured here, not the per-rider filing limit.
    env = site_env(
        database_url,
        folder,
        storage=storage,
        GRIDSNAP_LOG_LEVEL="WARNING",
        GRIDSNAP_REPORT_RATE_LIMIT="1000000 per hour",
    )
    prepare_database(env)
    riders, coordinators = make_users(env, args.riders, args.coordinators)
    cores = os.cpu_count() or 1
    workers = args.workers or default_workers(cores, (storage or {}).get("STORAGE_BACKEND", "local"))
    server = Gunicorn(env, log_path=os.path.join(folder, "gunicorn.log"), workers=workers).start()
    load = Load(server.url, photo, riders, coordinators, args.photos)
    floors, cpu_photo, rounds = [], [], []
    elapsed = server_cpu = client_cpu = 0.0
    try:
        wait_for(lambda: len(server.worker_pids()) == workers, what="every gunicorn worker")
        # Warm-up, not timed: one full wave of riders. A forked worker's first requests are slow (lazy
        # imports, and copy-on-write faults as it first touches the master's memory); with a warm-up of
        # only 2 x workers reports, the first timed round ran at 0.42-0.46 of the pipeline, the others at 0.7-0.8.
        load.go(max(args.riders, 2 * workers))
        load.latencies.clear()
        pids = [server.proc.pid] + server.worker_pids()
        # Other jobs on a shared machine come and go: sampling the floor between short rounds compares
        # each round with what the cores could do at that time.
        for n in range(args.rounds):
            rate, cpu = pipeline_rate(photo, cores, args.floor_runs)
            floors.append(rate)
            cpu_photo.append(cpu)
            cpu0, client0 = cpu_seconds(pids), time.process_time()
            acknowledged, seconds = load.go(args.reports // args.rounds + (n < args.reports % args.rounds))
            server_cpu += cpu_seconds(pids) - cpu0
            client_cpu += time.process_time() - client0
            elapsed += seconds
            rounds.append((acknowledged, acknowledged / seconds))
        floors.append(pipeline_rate(photo, cores, args.floor_runs)[0])
    finally:
        server.stop()
    problems = verify(env, load)
    lat = load.latencies or [float("nan")]
    timed = sum(counted for counted, _rate in rounds)
    acknowledged = max(1, timed)
    ratios = [rate * args.photos / ((floors[i] + floors[i + 1]) / 2) for i, (_n, rate) in enumerate(rounds)]
    return {
        "name": name,
        "reports": len(load.acknowledged),
        "timed": timed,
        "seconds": elapsed,
        "rate": timed / elapsed,
        "p50": percentile(lat, 50),
        "p95": percentile(lat, 95),
        "p99": percentile(lat, 99),
        "errors": len(load.errors),
        "five_xx": sum(n for s, n in load.statuses.items() if s >= 500),
        "moves": len(load.moves),
        "conflicts": load.conflicts,
        "problems": problems,
        "error_samples": load.errors[:5],
        "floors": floors,
        "ratios": ratios,
        "cpu_per_photo": statistics.mean(cpu_photo),
        "server_cpu_per_report": server_cpu / acknowledged,
        "client_cpu_per_report": client_cpu / acknowledged,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200, help="reports to file in total (fixed count)")
    parser.add_argument("--riders", type=int, default=50, help="concurrent riders")
    parser.add_argument("--coordinators", type=int, default=3, help="concurrent coordinators accepting reports")
    parser.add_argument("--photos", type=int, default=1, help="photos per report")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="PostgreSQL server URL (a temporary database is made on it)",
    )
    parser.add_argument("--store", choices=["local", "s3"], default="local")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of filing, the pipeline sampled between them")
    parser.add_argument("--floor-runs", type=int, default=8, help="photos per core in each pipeline sample")
    args = parser.parse_args()
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "phone-12mp.jpg")
        make_photo(path)
        with open(path, "rb") as fh:
            photo = fh.read()
        print(
            f"{args.reports} reports x {args.photos} photo(s) of {len(photo) / 1e6:.1f} MB (4032x3024), "
            f"{args.riders} riders, {args.coordinators} coordinators, {cores} cores, photos in {args.store}"
        )
        moto = MotoS3(log_path=os.path.join(tmp, "moto.log")).start() if args.store == "s3" else None
        results = []
        try:
            backends = [("SQLite", f"sqlite:///{os.path.join(tmp, 'load.db')}", None)]
            if args.pg_url:
                backends.append(("PostgreSQL", None, PostgresDatabase(args.pg_url, prefix="gs_load").create()))
            else:
                print("PostgreSQL skipped: pass --pg-url or set TEST_DATABASE_URL")
            for name, url, pg in backends:
                folder = os.path.join(tmp, name.lower())
                os.makedirs(folder)
                storage = s3_bucket(moto) if moto else None
                try:
                    results.append(run_backend(name, url or pg.url, folder, photo, args, storage))
                finally:
                    if pg:
                        pg.drop()
        finally:
            if moto:
                moto.stop()

    ok = True
    for r in results:
        ratio = statistics.median(r["ratios"])
        # CPU seconds are immune to other jobs on a shared machine: the pipeline's CPU per photo over the
        # server's CPU per report (parsing the upload, the pipeline, database, store, coordinators' requests).
        cpu_ratio = r["cpu_per_photo"] * args.photos / r["server_cpu_per_report"]
        good = ratio >= TARGET and not r["problems"] and not r["five_xx"] and not r["errors"]
        ok = ok and good
        print(
            f"{r['name']:<10}: {r['timed']} acknowledged in {r['seconds']:.1f} s = {r['rate']:.1f} reports/s "
            f"(+{r['reports'] - r['timed']} warm-up); "
            f"latency p50 {r['p50'] * 1000:.0f} ms, p95 {r['p95'] * 1000:.0f} ms, p99 {r['p99'] * 1000:.0f} ms; "
            f"errors {r['errors']} (5xx {r['five_xx']}); moves {r['moves']} (+{r['conflicts']} stale)"
        )
        print(
            f"{'':<12}photo pipeline alone on {cores} processes: "
            f"{' / '.join(f'{f:.1f}' for f in r['floors'])} photos/s around the rounds; CPU per report: "
            f"server {r['server_cpu_per_report'] * 1000:.0f} ms, pipeline {r['cpu_per_photo'] * args.photos * 1000:.0f}"
            f" ms ({cpu_ratio:.2f}), this load generator {r['client_cpu_per_report'] * 1000:.0f} ms"
        )
        print(
            f"{'':<12}lost or duplicated: {len(r['problems'])}; throughput / pipeline by round "
            f"{' / '.join(f'{x:.2f}' for x in r['ratios'])}, median {ratio:.2f} (target >= {TARGET})  "
            f"{'OK' if good else 'MISSED'}"
        )
        for line in r["problems"][:10] + r["error_samples"]:
            print(f"{'':<12}{line}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
