"""Grid lookup speed: 10,000 grid polygons (with holes and multipolygons), time per point, p50/p95.

Prints the lookup (GridIndex.lookup: STRtree query with an exact `intersects` test, lowest code on
borders) against a floor measured in the same run: a bare STRtree bounding-box query for the same
points. Also the cached index's cost including the database version check. Target: p95 < 1 ms.

    .venv/bin/python bench/grids.py [--grids 10000] [--points 20000]
"""

import argparse
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import shapely  # noqa: E402

import app.models  # noqa: E402,F401  (registers every table first)
from app.grids.index import GridIndex  # noqa: E402


def make_grids(n: int, seed: int = 1):
    """A square county cut into n cells with jittered vertices; every 10th has a hole, every 7th is two parts."""
    rnd = random.Random(seed)
    side = int(n**0.5)
    size = 0.005  # ~500 m cells
    lat0, lon0 = 29.0, 103.7
    rows = []
    for i in range(n):
        r, c = divmod(i, side)
        x0, y0 = lon0 + c * size, lat0 + r * size
        x1, y1 = x0 + size, y0 + size
        ring = [
            [x0, y0],
            [x0 + size / 2, y0 - size * 0.02 * rnd.random()],
            [x1, y0],
            [x1, y1],
            [x0 + size / 2, y1 - size * 0.02 * rnd.random()],
            [x0, y1],
            [x0, y0],
        ]
        if i % 7 == 0:
            half = x0 + size / 2
            geom = {
                "type": "MultiPolygon",
                "coordinates": [
                    [[[x0, y0], [half, y0], [half, y1], [x0, y1], [x0, y0]]],
                    [[[half + size * 0.1, y0], [x1, y0], [x1, y1], [half + size * 0.1, y1], [half + size * 0.1, y0]]],
                ],
            }
        elif i % 10 == 0:
            q = size / 4
            hole = [[x0 + q, y0 + q], [x0 + q, y1 - q], [x1 - q, y1 - q], [x1 - q, y0 + q], [x0 + q, y0 + q]]
            geom = {"type": "Polygon", "coordinates": [ring, hole]}
        else:
            geom = {"type": "Polygon", "coordinates": [ring]}
        rows.append((i + 1, f"G{i:05d}", geom))
    bounds = (lat0, lon0, lat0 + (n // side + 1) * size, lon0 + side * size)
    return rows, bounds


def timed(fn, points):
    out = []
    for lat, lon in points:
        t = time.perf_counter()
        fn(lat, lon)
        out.append((time.perf_counter() - t) * 1e6)
    return out


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--grids", type=int, default=10_000)
    ap.add_argument("--points", type=int, default=20_000)
    args = ap.parse_args()
    from app import create_app

    rows, (lat0, lon0, lat1, lon1) = make_grids(args.grids)
    rnd = random.Random(2)
    points = [
        (rnd.uniform(lat0 - 0.01, lat1 + 0.01), rnd.uniform(lon0 - 0.01, lon1 + 0.01)) for _ in range(args.points)
    ]

    t = time.perf_counter()
    index = GridIndex.build(rows)
    build_ms = (time.perf_counter() - t) * 1000

    tree = index.tree

    def floor(lat, lon):
        return tree.query(shapely.Point(lon, lat))

    for lat, lon in points[:500]:  # warm up
        index.lookup(lat, lon)
        floor(lat, lon)
    floor_us = timed(floor, points)
    lookup_us = timed(index.lookup, points)
    found = sum(1 for lat, lon in points if index.lookup(lat, lon) is not None)
    t = time.perf_counter()
    index.lookup_many([p[0] for p in points], [p[1] for p in points])
    many_us = (time.perf_counter() - t) * 1e6 / len(points)

    # The cached path used by submit_report: version check (one small query) + lookup, on SQLite.
    tmp = tempfile.mkdtemp()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "SECRET_KEY": "bench"})
    with app.app_context():
        import logging

        from flask_migrate import upgrade
        from sqlalchemy import insert

        from app.extensions import db
        from app.grids.index import grid_for_point
        from app.grids.models import Grid
        from app.models import utcnow

        logging.getLogger("alembic").setLevel(logging.WARNING)
        upgrade()
        now = utcnow()
        db.session.execute(
            insert(Grid), [{"id": i, "code": c, "name": c, "geometry": g, "updated_at": now} for i, c, g in rows]
        )
        db.session.commit()
        t = time.perf_counter()
        grid_for_point(*points[0])
        first_ms = (time.perf_counter() - t) * 1000
        cached_us = timed(grid_for_point, points[:5000])

    p50f, p95f = pct(floor_us, 0.5), pct(floor_us, 0.95)
    p50, p95 = pct(lookup_us, 0.5), pct(lookup_us, 0.95)
    print(f"grids: {args.grids}, points: {args.points} ({found} inside a grid), index build {build_ms:.0f} ms")
    print(f"floor  (bare STRtree bbox query)   p50 {p50f:7.1f} us  p95 {p95f:7.1f} us")
    print(
        f"lookup (exact, lowest code)        p50 {p50:7.1f} us  p95 {p95:7.1f} us  "
        f"ratio to floor p50 {p50 / p50f:.2f}x p95 {p95 / p95f:.2f}x"
    )
    print(f"lookup_many (vectorised)           {many_us:7.1f} us per point")
    print(
        f"cached path with DB version check  p50 {pct(cached_us, 0.5):7.1f} us  p95 {pct(cached_us, 0.95):7.1f} us "
        f"(first call, loading {args.grids} grids: {first_ms:.0f} ms)"
    )
    print(
        f"target p95 < 1000 us: {'met' if p95 < 1000 else 'NOT met'} (lookup), "
        f"{'met' if pct(cached_us, 0.95) < 1000 else 'NOT met'} (cached path)"
    )


if __name__ == "__main__":
    import app.models  # noqa: F401  (registers every table before the index module is used)

    main()
