"""The demo's county town: community grids of 玉津镇 (Qianwei's county town, around 29.21 N, 103.95 E), each with
its grid worker and department, and about 200 landmarks. Plausible, not surveyed: polygons drawn over the town on
a 5 x 2 lattice with their corners moved a little, landmarks placed by a seeded random walk."""

from __future__ import annotations

import random

CENTRE = (29.2089, 103.9512)
SOUTH, NORTH = CENTRE[0] - 0.013, CENTRE[0] + 0.013
WEST, EAST = CENTRE[1] - 0.016, CENTRE[1] + 0.016

# code, name, department of the grid (the community's usual first responder)
COMMUNITIES = [
    ("YJ-01", "玉津镇滨河社区", "urban_management"),
    ("YJ-02", "玉津镇文庙社区", "urban_management"),
    ("YJ-03", "玉津镇新华社区", "property"),
    ("YJ-04", "玉津镇城北社区", "public_works"),
    ("YJ-05", "玉津镇学府社区", "property"),
    ("YJ-06", "玉津镇南华社区", "urban_management"),
    ("YJ-07", "玉津镇兴发社区", "public_works"),
    ("YJ-08", "玉津镇金山社区", "property"),
    ("YJ-09", "玉津镇渡口社区", "urban_management"),
    ("YJ-10", "玉津镇东岳社区", "public_works"),
]
WORKER_NAMES = ["罗", "黄", "杨", "吴", "徐", "何", "郭", "马", "胡", "林"]

# Landmarks every rider of the town knows, at fixed places.
KNOWN = [
    ("犍为县人民医院", "hospital", 29.2112, 103.9489),
    ("犍为县中医医院", "hospital", 29.2051, 103.9557),
    ("犍为文庙", "landmark", 29.2087, 103.9468),
    ("玉津农贸市场", "market", 29.2069, 103.9521),
    ("犍为县第一中学", "school", 29.2143, 103.9553),
    ("犍为县人民政府", "office", 29.2098, 103.9530),
    ("滨河公园", "park", 29.2031, 103.9494),
    ("犍为汽车站", "bus_stop", 29.2160, 103.9440),
    ("玉津实验小学", "school", 29.2120, 103.9601),
    ("岷江大桥", "road", 29.2005, 103.9450),
]
PREFIXES = [
    "滨河",
    "文庙",
    "新华",
    "城北",
    "学府",
    "南华",
    "兴发",
    "金山",
    "渡口",
    "东岳",
    "玉津",
    "犍为",
    "桂花",
    "清溪",
    "民主",
]
KINDS = [
    ("小区", "compound"),
    ("花园", "compound"),
    ("家园", "compound"),
    ("超市", "shop"),
    ("药房", "shop"),
    ("火锅店", "shop"),
    ("面馆", "shop"),
    ("幼儿园", "school"),
    ("小学", "school"),
    ("公交站", "bus_stop"),
    ("菜市场", "market"),
    ("银行网点", "office"),
    ("社区服务中心", "office"),
    ("派出所", "office"),
    ("路口", "road"),
]


def grid_features() -> list[dict]:
    """The community grids as GeoJSON features (the grid import's format; the worker is set after)."""
    cols, rows = 5, 2
    xs = [WEST + (EAST - WEST) * i / cols for i in range(cols + 1)]
    ys = [SOUTH + (NORTH - SOUTH) * j / rows for j in range(rows + 1)]

    def jitter(i: int, j: int) -> tuple[float, float]:
        # Inner corners move a little; the outer edge stays straight. The same corner moves the same way for
        # every polygon that shares it, so the grids still tile the town without gaps or overlaps.
        r = random.Random(i * 100 + j)
        dx = r.uniform(-0.0015, 0.0015) if 0 < i < cols else 0.0
        dy = r.uniform(-0.0015, 0.0015) if 0 < j < rows else 0.0
        return round(xs[i] + dx, 6), round(ys[j] + dy, 6)

    features = []
    for n, (code, name, dept) in enumerate(COMMUNITIES):
        i, j = n % cols, n // cols
        ring = [jitter(i, j), jitter(i + 1, j), jitter(i + 1, j + 1), jitter(i, j + 1), jitter(i, j)]
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": name, "department": dept},
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
            }
        )
    return features


def landmark_features(n: int = 200) -> list[dict]:
    """About n landmarks: the known ones, then seeded names and places over the town."""
    rnd = random.Random(2026)
    seen = set()
    out = []
    for name, kind, lat, lon in KNOWN:
        seen.add(name)
        out.append(_point(name, kind, lat, lon))
    while len(out) < n:
        suffix, kind = rnd.choice(KINDS)
        name = rnd.choice(PREFIXES) + suffix
        if name in seen:
            name = f"{rnd.choice(PREFIXES)}{rnd.choice(['一', '二', '三', '东', '西', '南', '北'])}{suffix}"
            if name in seen:
                continue
        seen.add(name)
        out.append(_point(name, kind, round(rnd.uniform(SOUTH, NORTH), 6), round(rnd.uniform(WEST, EAST), 6)))
    return out


def _point(name: str, kind: str, lat: float, lon: float) -> dict:
    return {
        "type": "Feature",
        "properties": {"name": name, "kind": kind},
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }
