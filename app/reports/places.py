"""Places by name: the gazetteer of local landmarks, a report's place label, and the place search.

- import_places(data, filename) -> ImportResult      GeoJSON points (`name`, `kind`) or CSV `name,kind,lat,lon`;
                                                    all or nothing, idempotent by name and position
- describe(lat, lon, grid_name) -> dict | None       {"grid", "landmark", "distance_m", "bearing"} for a report
- label(place, locale) -> str                        "玉津镇滨河社区 · 犍为县人民医院 东北 80 米"
- search(q, lat=None, lon=None, limit=10)            by name, or pinyin initials or pinyin anywhere in it;
                                                    nearest first when a position is given
The search runs over an in-process index of every place (rebuilt when the table changes, as the grid index is):
a LIKE '%q%' over 100,000 rows cannot use an index and would scan them all for every keystroke.
"""

from __future__ import annotations

import csv
import io
import json
import math
import threading
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from pypinyin import Style, lazy_pinyin
from sqlalchemy import delete, func, select

from app.errors import ValidationFailed
from app.extensions import db
from app.grids.index import current_index
from app.grids.models import Grid
from app.models import utcnow
from app.reports.geo import cell_of, cells_near, distance_m, valid_location
from app.reports.models import Place

MAX_NAME = 120
MAX_KIND = 30
NEAR_RADII = (300, 1000)  # metres: the nearest landmark is looked for within these, in turn
BESIDE_M = 15  # closer than this, a report is "next to" the landmark
BEARINGS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
DIRECTION = {
    "N": _l("north"),
    "NE": _l("northeast"),
    "E": _l("east"),
    "SE": _l("southeast"),
    "S": _l("south"),
    "SW": _l("southwest"),
    "W": _l("west"),
    "NW": _l("northwest"),
}
KINDS = {
    "landmark": _l("Landmark"),
    "shop": _l("Shop"),
    "compound": _l("Residential compound"),
    "school": _l("School"),
    "hospital": _l("Hospital"),
    "bus_stop": _l("Bus stop"),
    "market": _l("Market"),
    "office": _l("Government office"),
    "road": _l("Road"),
    "park": _l("Park"),
}


# -- search keys -----------------------------------------------------------------------------------


def search_key(name: str) -> str:
    """What the search matches for a name: itself, its pinyin initials and its pinyin, lower case."""
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors=lambda s: list(s)))
    spelled = "".join(lazy_pinyin(name, errors=lambda s: list(s)))
    return " ".join(dict.fromkeys(p.lower() for p in (name.strip(), initials, spelled) if p))[:600]


# -- import ------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def _rows_from_geojson(data: Any) -> list[tuple[int, Any, Any, Any, Any]]:
    features = data.get("features") if isinstance(data, dict) else None
    if data.get("type") == "Feature" if isinstance(data, dict) else False:
        features = [data]
    if not isinstance(features, list):
        raise ValidationFailed(_l("A GeoJSON FeatureCollection of points is expected."), code="invalid_geojson")
    rows = []
    for n, f in enumerate(features, 1):
        geom = f.get("geometry") if isinstance(f, dict) else None
        props = (f.get("properties") or {}) if isinstance(f, dict) else {}
        coords = geom.get("coordinates") if isinstance(geom, dict) and geom.get("type") == "Point" else None
        if not isinstance(coords, list) or len(coords) < 2:
            rows.append((n, props.get("name"), props.get("kind"), None, None))
        else:
            rows.append((n, props.get("name"), props.get("kind"), coords[1], coords[0]))
    return rows


def _rows_from_csv(text: str) -> list[tuple[int, Any, Any, Any, Any]]:
    reader = csv.reader(io.StringIO(text))
    rows = []
    for n, row in enumerate(reader, 1):
        if not row or all(not c.strip() for c in row):
            continue
        if n == 1 and [c.strip().lower() for c in row[:4]] == ["name", "kind", "lat", "lon"]:
            continue  # the header
        row = [*row, "", "", "", ""][:4]
        rows.append((n, row[0], row[1], row[2], row[3]))
    return rows


def parse(data: bytes | str, filename: str = "") -> tuple[list[dict], list[str]]:
    """The places in a GeoJSON or CSV file, and the problems found (each naming its feature or line)."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    stripped = text.lstrip()
    if filename.lower().endswith((".geojson", ".json")) or stripped.startswith("{"):
        try:
            raw = _rows_from_geojson(json.loads(text))
        except json.JSONDecodeError as err:
            raise ValidationFailed(_l("The file is not valid JSON."), code="invalid_geojson") from err
        where = "feature"
    else:
        raw = _rows_from_csv(text)
        where = "line"
    places, problems = [], []
    for n, name, kind, lat, lon in raw:
        name = str(name or "").strip()
        kind = str(kind or "landmark").strip().lower() or "landmark"
        try:
            lat, lon = float(lat), float(lon)
        except (TypeError, ValueError):
            lat = lon = None
        if not name or len(name) > MAX_NAME:
            problems.append(f"{where} {n}: a name of 1 to {MAX_NAME} characters is needed")
        elif lat is None or not valid_location(lat, lon):
            problems.append(f"{where} {n}: no valid position")
        elif len(kind) > MAX_KIND:
            problems.append(f"{where} {n}: the kind is too long")
        else:
            places.append({"name": name, "kind": kind, "lat": round(lat, 6), "lon": round(lon, 6)})
    if not places and not problems:
        problems.append("no places in the file (expected GeoJSON points or CSV name,kind,lat,lon)")
    return places, problems


def import_places(data: bytes | str, filename: str = "") -> ImportResult:
    """Upsert the file's places by name and position (all or nothing); the caller commits."""
    places, problems = parse(data, filename)
    if problems:
        raise ValidationFailed(
            _l("Nothing imported: %(n)d problems in the file.", n=len(problems)),
            code="invalid_places",
            problems=problems,
        )
    result = ImportResult()
    names = {p["name"] for p in places}
    existing: dict[tuple[str, float, float], Place] = {}
    for chunk in _chunks(sorted(names)):
        for place in db.session.scalars(select(Place).where(Place.name.in_(chunk))):
            existing[(place.name, round(place.lat, 6), round(place.lon, 6))] = place
    now = utcnow()
    for p in places:
        key = (p["name"], p["lat"], p["lon"])
        found = existing.get(key)
        if found is None:
            found = Place(
                name=p["name"],
                kind=p["kind"],
                lat=p["lat"],
                lon=p["lon"],
                cell=cell_of(p["lat"], p["lon"]),
                search=search_key(p["name"]),
                updated_at=now,
            )
            db.session.add(found)
            existing[key] = found
            result.created += 1
        elif found.kind != p["kind"]:
            found.kind, found.updated_at = p["kind"], now
            result.updated += 1
        else:
            result.unchanged += 1
    db.session.flush()
    return result


def add_place(name: str, kind: str, lat, lon) -> Place:
    """One place from the admin form (validated as a line of a file would be); the caller commits."""
    places, problems = parse(json.dumps({"type": "FeatureCollection", "features": [_feature(name, kind, lat, lon)]}))
    if problems:
        raise ValidationFailed(_l("Give a name and a valid position."), code="invalid_place")
    import_places(json.dumps({"type": "FeatureCollection", "features": [_feature(**places[0])]}))
    p = places[0]
    return db.session.scalar(select(Place).where(Place.name == p["name"], Place.lat == p["lat"], Place.lon == p["lon"]))


def _feature(name, kind, lat, lon) -> dict:
    try:
        coords = [float(lon), float(lat)]
    except (TypeError, ValueError):
        coords = None
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coords},
        "properties": {"name": name, "kind": kind},
    }


def delete_places(ids: list[int]) -> int:
    """Remove places; the caller commits."""
    if not ids:
        return 0
    return db.session.execute(delete(Place).where(Place.id.in_(ids))).rowcount or 0


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- a report's place --------------------------------------------------------------------------------


def bearing(from_lat: float, from_lon: float, to_lat: float, to_lon: float) -> str:
    """The compass point (of 8) from one position to another."""
    dy = to_lat - from_lat
    dx = (to_lon - from_lon) * math.cos(math.radians(from_lat))
    degrees = (math.degrees(math.atan2(dx, dy)) + 360) % 360
    return BEARINGS[int((degrees + 22.5) // 45) % 8]


def nearest(lat: float, lon: float) -> tuple[Place, float] | None:
    """The nearest landmark within NEAR_RADII (by the indexed cells), with its distance in metres."""
    for radius in NEAR_RADII:
        rows = db.session.scalars(select(Place).where(Place.cell.in_(cells_near(lat, lon, radius)))).all()
        best = None
        for p in rows:
            d = distance_m((lat, lon), (p.lat, p.lon))
            if d <= radius and (best is None or (d, p.id) < (best[1], best[0].id)):
                best = (p, d)
        if best is not None:
            return best
    return None


def describe(lat: float, lon: float, grid_name: str | None) -> dict | None:
    """Where a report is, by name: its grid and the nearest landmark (distance, and direction from it)."""
    found = nearest(lat, lon)
    if found is None and not grid_name:
        return None
    place: dict[str, Any] = {"grid": grid_name or None}
    if found is not None:
        p, d = found
        place.update(landmark=p.name, distance_m=int(round(d)), bearing=bearing(p.lat, p.lon, lat, lon))
    return place


def label(place: dict | None, locale: str = "zh_CN") -> str:
    """The place as one line in `locale`: "grid · landmark direction distance"; "" when nothing is known."""
    if not place:
        return ""
    parts = []
    with force_locale(locale):
        if place.get("grid"):
            parts.append(place["grid"])
        if place.get("landmark"):
            d = int(place.get("distance_m") or 0)
            if d < BESIDE_M:
                parts.append(str(_l("next to %(landmark)s", landmark=place["landmark"])))
            else:
                direction = DIRECTION.get(place.get("bearing") or "", "")
                parts.append(
                    str(_l("%(landmark)s, %(m)d m %(direction)s", landmark=place["landmark"], m=d, direction=direction))
                )
    return " · ".join(parts)


# -- search ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Index:
    ids: np.ndarray
    names: list[str]
    kinds: list[str]
    lats: np.ndarray
    lons: np.ndarray
    haystack: str  # every search key, one per line
    starts: list[int]  # where each line starts in the haystack


_lock = threading.Lock()
_cache: dict[str, tuple[tuple, _Index]] = {}


def _version() -> tuple:
    return tuple(db.session.execute(select(func.count(Place.id), func.max(Place.updated_at), func.max(Place.id))).one())


def _index() -> _Index:
    key = str(db.engine.url)
    version = _version()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
    rows = db.session.execute(select(Place.id, Place.name, Place.kind, Place.lat, Place.lon, Place.search)).all()
    starts, pos, lines = [], 0, []
    for r in rows:
        line = (r.search or search_key(r.name)).replace("\n", " ")
        starts.append(pos)
        lines.append(line)
        pos += len(line) + 1
    built = _Index(
        ids=np.array([r.id for r in rows], dtype=np.int64),
        names=[r.name for r in rows],
        kinds=[r.kind for r in rows],
        lats=np.array([r.lat for r in rows], dtype=float),
        lons=np.array([r.lon for r in rows], dtype=float),
        haystack="\n".join(lines),
        starts=starts,
    )
    with _lock:
        _cache[key] = (version, built)
    return built


def _matches(index: _Index, q: str, cap: int) -> list[int]:
    """Row numbers whose search key contains q (at most `cap`), found by str.find over one string."""
    out, at, hay, starts = [], 0, index.haystack, index.starts
    while len(out) < cap:
        at = hay.find(q, at)
        if at < 0:
            break
        row = bisect_right(starts, at) - 1
        out.append(row)
        at = starts[row + 1] if row + 1 < len(starts) else len(hay)
    return out


def search(q: str, lat=None, lon=None, limit: int = 10) -> list[dict]:
    """Places whose name, pinyin initials or pinyin contain q; nearest first when a position is given, else
    those whose name starts with it first, then the shortest names."""
    q = " ".join(str(q or "").lower().split())
    if len(q) > 60:
        raise ValidationFailed(_l("The search is too long."), code="invalid_query")
    position = None
    if lat not in (None, "") or lon not in (None, ""):
        if not valid_location(lat, lon):
            raise ValidationFailed(_l("lat and lon must be a valid position."), code="invalid_location")
        position = (float(lat), float(lon))
    if not q and position is None:
        raise ValidationFailed(_l("Type a few letters of a place, or give a position."), code="query_required")
    index = _index()
    if not index.names:
        return []
    rows = np.array(_matches(index, q, 20_000) if q else range(len(index.names)), dtype=np.int64)
    if not len(rows):
        return []
    if position is not None:
        dy = index.lats[rows] - position[0]
        dx = (index.lons[rows] - position[1]) * math.cos(math.radians(position[0]))
        order = rows[np.argsort(dy * dy + dx * dx, kind="stable")[:limit]]
    else:
        order = sorted(rows.tolist(), key=lambda i: (not index.names[i].lower().startswith(q), len(index.names[i])))
        order = order[:limit]
    order = [int(i) for i in order]
    grid_ids = current_index().lookup_many([index.lats[i] for i in order], [index.lons[i] for i in order])
    wanted = {g for g in grid_ids if g is not None}
    grid_names = dict(db.session.execute(select(Grid.id, Grid.name).where(Grid.id.in_(wanted))).all()) if wanted else {}
    out = []
    for i, grid_id in zip(order, grid_ids, strict=True):
        item = {
            "id": int(index.ids[i]),
            "name": index.names[i],
            "kind": index.kinds[i],
            "lat": float(index.lats[i]),
            "lon": float(index.lons[i]),
            "grid": grid_names.get(grid_id),
        }
        if position is not None:
            item["distance_m"] = int(round(distance_m(position, (item["lat"], item["lon"]))))
        out.append(item)
    return out


def place_of(report, locale: str | None = None) -> str:
    """A report's place for people: its label by name, else the geocoded address, else its coordinates."""
    if locale is None:
        from app.i18n import lang

        locale = "zh_CN" if lang() == "zh" else "en"
    if report.place:
        return label(report.place, locale)
    if report.address:
        return report.address
    if report.lat is None or report.lon is None:
        with force_locale(locale):
            return str(_l("Location needed"))
    return f"{report.lat:.5f}, {report.lon:.5f}"


def locate_text(text: str | None) -> tuple[float, float] | None:
    """A position for a typed address from the gazetteer: the place of that exact name, else the longest place
    name the text contains ("犍为县人民医院门口" → the hospital), else the one place whose name contains the text.
    None when nothing (or more than one place, equally good) matches: a guess would put the pin in a wrong place."""
    text = " ".join(str(text or "").split())
    if len(text) < 2:
        return None
    index = _index()
    best, best_len, tie = None, 0, False
    for i, name in enumerate(index.names):
        if len(name) >= 2 and name in text:
            if len(name) > best_len:
                best, best_len, tie = i, len(name), False
            elif len(name) == best_len and (index.lats[i], index.lons[i]) != (index.lats[best], index.lons[best]):
                tie = True
    if best is not None and not tie:
        return float(index.lats[best]), float(index.lons[best])
    if best is None and len(text) <= 60:
        found = search(text, limit=2)
        if len(found) == 1:
            return found[0]["lat"], found[0]["lon"]
    return None
