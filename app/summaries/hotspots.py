"""Hotspots: greedy clusters of reports within ~150 m of a centre, found over ~100 m grid cells."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from app.reports.geo import _COLS, CELL_DEG, distance_m

RADIUS_M = 150.0
# Metres per degree on a sphere of the mean Earth radius; the ellipsoid differs by < 0.6 %,
# so only pairs within 1 % of the radius need the exact geodesic distance.
M_PER_DEG = 111_195.0
MARGIN = 0.01


@dataclass
class Cluster:
    """Reports within RADIUS_M of a centre; lat/lon is the members' mean (the representative location)."""

    lat: float
    lon: float
    count: int
    category_id: int
    category_count: int
    grid_id: int | None


def clusters(
    lats: list[float],
    lons: list[float],
    cells: list[int],
    categories: list[int],
    grids: list[int | None],
    radius_m: float = RADIUS_M,
    limit: int = 10,
    min_count: int = 2,
) -> list[Cluster]:
    """The `limit` largest clusters of at least `min_count` reports (given as columns), largest first.

    Greedy: cells are taken in order of how many reports their neighbourhood holds; each
    takes the unclaimed reports within radius_m of the mean location of its own unclaimed
    reports. A neighbourhood count bounds any cluster seeded there, so the search stops as
    soon as no remaining cell can beat the smallest of the clusters kept.
    """
    by_cell: dict[int, list[int]] = defaultdict(list)  # indexes into the columns, in their order
    for i, cell in enumerate(cells):
        by_cell[cell].append(i)
    if not by_cell:
        return []
    max_lat = max(abs(lat) for lat in lats)
    # Cells (rows, columns) a point within radius_m of a point in the seed cell can be in.
    dr = math.ceil(radius_m / (110_000 * CELL_DEG))
    dc = math.ceil(radius_m / (110_000 * CELL_DEG * max(0.01, math.cos(math.radians(min(max_lat + 0.01, 89.9))))))
    size = {c: len(ix) for c, ix in by_cell.items()}
    offsets = [r * _COLS + c for r in range(-dr, dr + 1) for c in range(-dc, dc + 1)]
    bound = {c: sum([size.get(c + o, 0) for o in offsets]) for c in by_cell}
    # Squared planar distances against the radius less / more 1 %: in between, the exact geodesic decides.
    sure, unsure = (radius_m * (1 - MARGIN)) ** 2, (radius_m * (1 + MARGIN)) ** 2
    claimed = bytearray(len(cells))
    kept: list[Cluster] = []
    for cell in sorted(by_cell, key=lambda c: (-bound[c], c)):
        if len(kept) >= limit and bound[cell] <= kept[-1].count:
            break
        seeds = [i for i in by_cell[cell] if not claimed[i]]
        if len(seeds) == 0 or bound[cell] < min_count:
            continue
        lat0 = sum(lats[i] for i in seeds) / len(seeds)
        lon0 = sum(lons[i] for i in seeds) / len(seeds)
        coslat = math.cos(math.radians(lat0))
        members = []
        for o in offsets:
            for i in by_cell.get(cell + o, ()):
                if claimed[i]:
                    continue
                dy = (lats[i] - lat0) * M_PER_DEG
                dx = (lons[i] - lon0) * M_PER_DEG * coslat
                d2 = dx * dx + dy * dy
                if d2 < sure or (d2 <= unsure and distance_m((lat0, lon0), (lats[i], lons[i])) <= radius_m):
                    members.append(i)
        if len(members) < min_count:
            continue
        for i in members:
            claimed[i] = 1
        cats = Counter(categories[i] for i in members)
        top_cat, top_n = min(cats.items(), key=lambda kv: (-kv[1], kv[0]))
        in_grids = Counter(grids[i] for i in members)
        top_grid = min(in_grids.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or 0))[0]
        kept.append(
            Cluster(
                round(sum(lats[i] for i in members) / len(members), 6),
                round(sum(lons[i] for i in members) / len(members), 6),
                len(members),
                top_cat,
                top_n,
                top_grid,
            )
        )
        kept.sort(key=lambda k: -k.count)
        del kept[limit:]
    return kept
