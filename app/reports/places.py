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
from sqlalchemy import delete, select, text

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
    places: list = field(default_factory=list)  # the rows, in the file's order

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
    return _upsert(places)


def _upsert(places: list[dict]) -> ImportResult:
    """Add the new places, update the kind of known ones (matched by name and position)."""
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
    result.places = [existing[(p["name"], p["lat"], p["lon"])] for p in places]
    return result


def add_place(name: str, kind: str, lat, lon) -> Place:
    """One place from the admin form (checked as a line of a file is); the caller commits."""
    row = f"{_csv_cell(name)},{_csv_cell(kind)},{_csv_cell(lat)},{_csv_cell(lon)}"
    places, problems = parse(row, "place.csv")
    if problems or len(places) != 1:
        raise ValidationFailed(_l("Give a name and a valid position."), code="invalid_place")
    return _upsert(places).places[0]


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    return '"' + text.replace('"', '""') + '"'


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
        elif place.get("address"):  # no landmark: an address given there (a hotspot's)
            parts.append(place["address"])
    return " · ".join(parts)


# -- search ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Index:
    """Every place, shortest names first (the order a search without a position ranks by), with two haystacks
    of one line per place: the lower-case names, and their pinyin (initials and spelled out, ASCII). A query in
    letters is looked for in the pinyin, one in characters in the names: each string stays compact (an ASCII
    string is a byte per character), and str.find runs through it in C."""

    ids: np.ndarray
    names: list[str]
    kinds: list[str]
    lats: np.ndarray
    lons: np.ndarray
    lower: list[str]
    pinyin: list[str]
    names_hay: str
    names_starts: list[int]
    pinyin_hay: str
    pinyin_starts: list[int]


_lock = threading.Lock()
_cache: dict[str, tuple[tuple, _Index]] = {}
# Scalar subqueries, each answered from an index (one aggregate over the table would read every row).
_VERSION_SQL = text(
    "SELECT (SELECT count(*) FROM place), (SELECT max(id) FROM place), (SELECT max(updated_at) FROM place)"
)


def _version() -> tuple:
    row = db.session.execute(_VERSION_SQL).one()
    return (row[0], row[1], str(row[2]))


def _haystack(lines: list[str]) -> tuple[str, list[int]]:
    starts, pos = [], 1
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    return "\n" + "\n".join(lines) + "\n", starts


def _ascii_part(key: str, lower_name: str) -> str:
    """The pinyin of a stored search key ("name initials spelled"): what follows the name, ASCII only."""
    rest = key[len(lower_name) :] if key.startswith(lower_name) else key
    if lower_name.isascii():
        rest = lower_name + " " + rest
    return "".join(c for c in rest if c.isascii()).strip().replace("\n", " ")


def _index() -> _Index:
    key = str(db.engine.url)
    version = _version()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
    rows = db.session.execute(select(Place.id, Place.name, Place.kind, Place.lat, Place.lon, Place.search)).all()
    rows.sort(key=lambda r: (len(r.name), r.name, r.id))
    lower = [" ".join(r.name.lower().split()) for r in rows]
    pinyin = [_ascii_part(r.search or search_key(r.name), name) for r, name in zip(rows, lower, strict=True)]
    names_hay, names_starts = _haystack(lower)
    pinyin_hay, pinyin_starts = _haystack(pinyin)
    built = _Index(
        ids=np.array([r.id for r in rows], dtype=np.int64),
        names=[r.name for r in rows],
        kinds=[r.kind for r in rows],
        lats=np.array([r.lat for r in rows], dtype=float),
        lons=np.array([r.lon for r in rows], dtype=float),
        lower=lower,
        pinyin=pinyin,
        names_hay=names_hay,
        names_starts=names_starts,
        pinyin_hay=pinyin_hay,
        pinyin_starts=pinyin_starts,
    )
    with _lock:
        _cache[key] = (version, built)
    return built


def _find(hay: str, starts: list[int], needle: str, cap: int, skip: set[int] | None = None) -> list[int]:
    """Rows (in index order) whose line contains needle, at most `cap`, by str.find over one string."""
    out, at = [], 0
    while len(out) < cap:
        at = hay.find(needle, at)
        if at < 0:
            break
        row = bisect_right(starts, at) - 1
        if row >= 0 and (skip is None or row not in skip):
            out.append(row)
        at = starts[row + 1] if row + 1 < len(starts) else len(hay)
    return out


NEAREST_FIRST = 4000  # a search near a position looks at the places nearest to it first


def _haystack_for(index: _Index, q: str) -> tuple[str, list[int], list[str]]:
    return (
        (index.pinyin_hay, index.pinyin_starts, index.pinyin)
        if q.isascii()
        else (
            index.names_hay,
            index.names_starts,
            index.lower,
        )
    )


def _nearest_matches(index: _Index, q: str, position: tuple[float, float], limit: int) -> list[int]:
    """Matching rows nearest the position: the NEAREST_FIRST nearest places are tried first (a short query
    matches thousands of places, a scan of all of them for each keystroke is what this avoids); when fewer
    than `limit` of those match, every match is ranked (few matches: the scan is short)."""
    dy = index.lats - position[0]
    dx = (index.lons - position[1]) * math.cos(math.radians(position[0]))
    d2 = dy * dy + dx * dx
    if not q:
        near = np.argpartition(d2, limit)[:limit] if len(d2) > limit else np.arange(len(d2))
        return sorted(near.tolist(), key=lambda i: d2[i])
    hay, starts, lines = _haystack_for(index, q)
    if len(d2) > NEAREST_FIRST:
        near = np.argpartition(d2, NEAREST_FIRST)[:NEAREST_FIRST]
        near = near[np.argsort(d2[near], kind="stable")].tolist()
        found = [i for i in near if q in lines[i]][:limit]
        if len(found) >= limit:
            return found
    rows = np.array(_find(hay, starts, q, 50_000), dtype=np.int64)
    if not len(rows):
        return []
    return rows[np.argsort(d2[rows], kind="stable")[:limit]].tolist()


def _flat_metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (a[0] - b[0]) * 111_195
    dx = (a[1] - b[1]) * 111_195 * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot(dx, dy)


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
    if position is not None:
        order = _nearest_matches(index, q, position, limit)
    else:  # names starting with q (shortest first), then any match (shortest first)
        order = _find(index.names_hay, index.names_starts, "\n" + q, limit)
        if len(order) < limit:
            hay, starts, _lines = _haystack_for(index, q)
            order += _find(hay, starts, q, limit - len(order), skip=set(order))
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
        if position is not None:  # for the list (metres, shown rounded): the flat-earth distance is plenty
            item["distance_m"] = int(round(_flat_metres(position, (item["lat"], item["lon"]))))
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


def place_label(place: dict | None, lang: str = "zh") -> str:
    """label() for a page's language code ("zh" or "en"); a plain name (kept by older records) as it is."""
    if isinstance(place, str):
        return place
    return label(place, "zh_CN" if str(lang).startswith("zh") else "en")
