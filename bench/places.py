"""Place search speed with 100,000 places (GET /api/v1/places).

Prints, measured in the same run through the Flask test client as a logged-in rider (bearer token):
- a trivial request (/healthz): the framework's floor;
- for each query below, with and without a position: p50 and p95 over --requests requests, and p95 / floor;
- the first search after the places changed (the in-process index is rebuilt then), once.
Target: p95 <= 20 ms with 100,000 places.

    .venv/bin/python bench/places.py [--places 100000] [--requests 200]

The database is built once into GRIDSNAP_PLACES_BENCH_DB (default /tmp/gridsnap-places-bench-<N>.db).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PREFIXES = "滨河 文庙 新华 城北 学府 南华 兴发 金山 渡口 东岳 玉津 犍为 桂花 清溪 民主 罗城 孝姑 清溪 石溪 铁炉".split()
WORDS = "人民 幸福 和平 阳光 锦绣 翠竹 红旗 建设 光明 长江 岷江 龙门 凤凰 花园 新村 东方 西城 南门 北街".split()
KINDS = [
    ("小区", "compound"),
    ("超市", "shop"),
    ("药房", "shop"),
    ("小学", "school"),
    ("幼儿园", "school"),
    ("公交站", "bus_stop"),
    ("菜市场", "market"),
    ("医院", "hospital"),
    ("诊所", "hospital"),
    ("路口", "road"),
]
CENTRE = (29.21, 103.95)
QUERIES = ["rmyy", "人民医院", "犍为", "xq", "y", "滨河幸福小区"]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def ms(v: float) -> str:
    return f"{v * 1000:.2f} ms"


def make_app(path: str):
    from app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + path,
            "GEOCODER": "",
            "UPLOAD_DIR": os.path.join(tempfile.gettempdir(), "gridsnap-bench-uploads"),
            "RATELIMIT_ENABLED": False,
            "SECRET_KEY": "bench",
        }
    )


def build(app, n: int) -> None:
    """The schema by the migrations, then n places through the real import (search keys with pinyin)."""
    from flask_migrate import upgrade

    from app.extensions import db
    from app.reports.places import import_places

    rnd = random.Random(7)
    with app.app_context():
        upgrade(directory=os.path.join(ROOT, "migrations"))
        lines, seen = ["name,kind,lat,lon"], set()
        while len(seen) < n:
            suffix, kind = rnd.choice(KINDS)
            name = f"{rnd.choice(PREFIXES)}{rnd.choice(WORDS)}{suffix}"
            if name in seen:
                name = f"{name}{rnd.randint(1, 999)}号"
            if name in seen:
                continue
            seen.add(name)
            lat = CENTRE[0] + rnd.gauss(0, 0.08)
            lon = CENTRE[1] + rnd.gauss(0, 0.08)
            lines.append(f"{name},{kind},{lat:.6f},{lon:.6f}")
        started = time.perf_counter()
        result = import_places("\n".join(lines))
        db.session.commit()
        print(f"built {n} places in {time.perf_counter() - started:.1f} s ({result.summary()})")


def token(app) -> str:
    from app.auth.services import create_token, create_user
    from app.extensions import db
    from app.models import User

    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == "bench-rider"))
        if user is None:
            user = create_user("bench-rider", "a-long-bench-password", "rider")
        _row, plain = create_token(user, "bench")
        db.session.commit()
        return plain


def timed(client, url: str, count: int, headers: dict) -> list[float]:
    out = []
    for _ in range(count):
        t = time.perf_counter()
        resp = client.get(url, headers=headers)
        out.append(time.perf_counter() - t)
        assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True)[:200])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--places", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    path = os.environ.get("GRIDSNAP_PLACES_BENCH_DB") or f"/tmp/gridsnap-places-bench-{args.places}.db"
    fresh = not os.path.exists(path)
    app = make_app(path)
    if fresh:
        build(app, args.places)
    headers = {"Authorization": f"Bearer {token(app)}", "Accept": "application/json"}
    client = app.test_client()
    floor = timed(client, "/healthz", args.requests, {})
    print(f"GET /healthz (framework floor): p50 {ms(statistics.median(floor))}, p95 {ms(pct(floor, 0.95))}")
    t = time.perf_counter()
    client.get("/api/v1/places?q=rmyy", headers=headers)
    print(f"first search (index built): {ms(time.perf_counter() - t)}")
    worst = 0.0
    for q in QUERIES:
        for near in ("", f"&lat={CENTRE[0]}&lon={CENTRE[1]}"):
            url = f"/api/v1/places?q={q}{near}"
            got = timed(client, url, args.requests, headers)
            p95 = pct(got, 0.95)
            worst = max(worst, p95)
            print(
                f"q={q:<8} {'near' if near else 'anywhere':<8} p50 {ms(statistics.median(got))}, p95 {ms(p95)}"
                f" ({p95 / pct(floor, 0.95):.1f}x the floor)"
            )
    print(f"worst p95 {ms(worst)} (target <= 20 ms): {'met' if worst <= 0.020 else 'NOT met'}")


if __name__ == "__main__":
    main()
