"""The spatial index of grid areas: shapely geometries in an STRtree, cached per process.

The cache is checked against a cheap "grids version" (count, max id, max updated_at) read from
the database before each use, so a grid changed by another app process is noticed at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from sqlalchemy import select, text

from app.extensions import db
from app.grids.models import Grid


@dataclass(frozen=True)
class GridIndex:
    """Grid ids, codes and geometries in code order, with an STRtree over them."""

    ids: tuple[int, ...]
    codes: tuple[str, ...]
    geoms: np.ndarray
    tree: shapely.STRtree

    @classmethod
    def build(cls, rows: Sequence[tuple[int, str, dict[str, Any]]]) -> GridIndex:
        """Index (id, code, GeoJSON geometry) rows."""
        rows = sorted(rows, key=lambda r: r[1])  # code order: the first hit is the lowest code
        geoms = np.array([shape(g) for _i, _c, g in rows], dtype=object)
        shapely.prepare(geoms)
        return cls(tuple(r[0] for r in rows), tuple(r[1] for r in rows), geoms, shapely.STRtree(geoms))

    def lookup(self, lat: float, lon: float) -> int | None:
        """The id of the grid covering the point (boundary included); the lowest code wins on shared borders."""
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        return self.ids[int(hits.min())] if len(hits) else None

    def lookup_many(self, lats: Sequence[float], lons: Sequence[float]) -> list[int | None]:
        """lookup() for many points at once (vectorised)."""
        points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        best = np.full(len(points), len(self.ids), dtype=np.int64)
        if len(points) and len(self.ids):
            point_idx, geom_idx = self.tree.query(points, predicate="intersects")
            np.minimum.at(best, point_idx, geom_idx)  # lowest code per point
        return [self.ids[g] if g < len(self.ids) else None for g in best.tolist()]


# Three scalar subqueries, each answered from an index (one aggregate query would scan the
# table); plain text because building the ORM statement costs more than running it.
_VERSION_SQL = text(
    "SELECT (SELECT count(*) FROM grid), (SELECT max(id) FROM grid), (SELECT max(updated_at) FROM grid)"
)
_cache: dict[str, tuple[tuple, GridIndex]] = {}
_lock = threading.Lock()


def grids_version() -> tuple:
    """A cheap fingerprint of the grid table that changes whenever a grid is added, edited or removed."""
    row = db.session.execute(_VERSION_SQL).one()
    return (row[0], row[1], str(row[2]))


def current_index() -> GridIndex:
    """The index for this database, rebuilt only when the grids version has changed."""
    key = str(db.engine.url)
    version = grids_version()
    cached = _cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _lock:
        rows = db.session.execute(select(Grid.id, Grid.code, Grid.geometry)).all()
        index = GridIndex.build([tuple(r) for r in rows])
        _cache[key] = (version, index)
        return index


def grid_for_point(lat: float, lon: float) -> int | None:
    """The id of the grid containing this location, or None when it is outside all grids."""
    return current_index().lookup(lat, lon)
