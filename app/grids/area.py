"""The service area: where a report can sensibly be. A location outside it (a GPS fix or a photo's EXIF from
elsewhere) is still accepted, but warned about on the phone and flagged on the report.

GRIDSNAP_SERVICE_AREA names a GeoJSON file (a geometry, a Feature or a FeatureCollection); without it, the
union of the grid polygons (widened by ~100 m, so a report across the street from a grid's edge is not
"outside"), and without grids, 50 km around GRIDSNAP_MAP_CENTER.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import shapely
from flask import current_app
from shapely.geometry import mapping, shape
from sqlalchemy import select, update

from app.extensions import db
from app.grids.index import grids_version
from app.grids.models import Grid
from app.models import Report
from app.triage.workflow import OPEN_STATUSES

RADIUS_M = 50_000
EDGE_DEG = 0.001  # ~100 m of slack around the grids
DEFAULT_CENTRE = (29.2254, 103.9507)


def map_center() -> tuple[float, float]:
    """Where maps open before a location is known (GRIDSNAP_MAP_CENTER, "lat,lon")."""
    try:
        lat, lon = (float(v) for v in current_app.config["MAP_CENTER"].split(","))
        return lat, lon
    except (ValueError, AttributeError):
        return DEFAULT_CENTRE


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    from math import asin, cos, radians, sin, sqrt

    lat1, lon1, lat2, lon2 = map(radians, (a[0], a[1], b[0], b[1]))
    h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * asin(sqrt(h))


@dataclass(frozen=True)
class ServiceArea:
    """A polygon (lon/lat) or a circle around the map centre."""

    source: str  # file | grids | centre
    geometry: Any = None
    centre: tuple[float, float] = DEFAULT_CENTRE
    radius_m: float = RADIUS_M

    def contains(self, lat: float, lon: float) -> bool:
        """Whether the location is inside the area (its edge included)."""
        if self.geometry is None:
            return _distance_m(self.centre, (lat, lon)) <= self.radius_m
        return bool(self.geometry.intersects(shapely.Point(lon, lat)))

    def contains_many(self, lats: list[float], lons: list[float]) -> list[bool]:
        """contains() for many locations at once (vectorised for a polygon)."""
        if self.geometry is None:
            return [self.contains(lat, lon) for lat, lon in zip(lats, lons, strict=True)]
        return [bool(v) for v in shapely.intersects_xy(self.geometry, lons, lats)]

    def for_phone(self) -> dict:
        """What the report page checks a location against, offline too: a small polygon or the circle."""
        if self.geometry is None:
            return {"circle": {"lat": self.centre[0], "lon": self.centre[1], "radius_m": self.radius_m}}
        return {"geometry": mapping(self.geometry.simplify(0.0005, preserve_topology=True))}


def _from_file(path: str) -> Any:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if data.get("type") == "FeatureCollection":
        return shapely.union_all([shape(f["geometry"]) for f in data["features"]])
    if data.get("type") == "Feature":
        return shape(data["geometry"])
    return shape(data)


_cache: dict[str, tuple[tuple, ServiceArea]] = {}
_lock = threading.Lock()


def service_area() -> ServiceArea:
    """The configured area, rebuilt when the file setting or the grids change."""
    path = current_app.config.get("SERVICE_AREA") or ""
    version = (path, grids_version(), current_app.config.get("MAP_CENTER"))
    key = str(db.engine.url)
    cached = _cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _lock:
        if path:
            area = ServiceArea("file", _from_file(path))
        else:
            shapes = [shape(g) for g in db.session.scalars(select(Grid.geometry))]
            if shapes:
                area = ServiceArea("grids", shapely.union_all(shapes).buffer(EDGE_DEG))
            else:
                area = ServiceArea("centre", None, map_center())
        if area.geometry is not None:
            shapely.prepare(area.geometry)
        _cache[key] = (version, area)
        return area


def outside_area(lat: float, lon: float) -> bool:
    """Whether a location is outside the service area."""
    return not service_area().contains(lat, lon)


def recheck_reports(*, every_report: bool = False, batch: int = 5000) -> tuple[int, int]:
    """Flag again, against the area as it is now, the open reports (or every report) that have a location:
    after the grids or the area file changed, and once after the upgrade that added the flag (older reports
    read as inside). Returns (checked, changed); flushes, the caller commits."""
    area = service_area()
    query = select(Report.id, Report.lat, Report.lon, Report.outside_area).where(Report.lat.is_not(None))
    if not every_report:
        query = query.where(Report.status.in_([s.value for s in OPEN_STATUSES]))
    checked, last = 0, 0
    flips: dict[bool, list[int]] = {True: [], False: []}
    while True:
        rows = db.session.execute(query.where(Report.id > last).order_by(Report.id).limit(batch)).all()
        if not rows:
            break
        inside = area.contains_many([r.lat for r in rows], [r.lon for r in rows])
        for row, is_inside in zip(rows, inside, strict=True):
            if bool(row.outside_area) == is_inside:  # flagged wrongly, either way
                flips[not is_inside].append(row.id)
        checked, last = checked + len(rows), rows[-1].id
    for flag, ids in flips.items():
        for start in range(0, len(ids), batch):
            db.session.execute(
                update(Report).where(Report.id.in_(ids[start : start + batch])).values(outside_area=flag),
                execution_options={"synchronize_session": False},
            )
    db.session.flush()
    return checked, len(flips[True]) + len(flips[False])
