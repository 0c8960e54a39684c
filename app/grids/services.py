"""Grid operations: GeoJSON import and export, editing, dispatch suggestions, re-gridding open reports."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from shapely.geometry import shape
from shapely.validation import explain_validity
from sqlalchemy import select

from app.audit import record, snapshot
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.grids.index import current_index, grid_for_point  # noqa: F401  (re-exported for callers)
from app.grids.models import Grid
from app.models import Department, Report, User, utcnow
from app.text import clean_text
from app.triage.workflow import OPEN_STATUSES

GRID_FIELDS = ("code", "name")
MAX_FEATURES = 20_000


@dataclass
class ImportResult:
    """What an import did."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged"


def grid_state(grid: Grid) -> dict[str, Any]:
    """What the audit log keeps of a grid: the worker and department by name, so entries read on their own."""
    worker = db.session.get(User, grid.worker_id) if grid.worker_id else None
    dept = db.session.get(Department, grid.department_id) if grid.department_id else None
    return {
        **snapshot(grid, GRID_FIELDS),
        "worker": worker.username if worker else None,
        "department": dept.code if dept else None,
    }


def all_grids() -> list[Grid]:
    """Every grid in code order."""
    return list(db.session.scalars(select(Grid).order_by(Grid.code)))


def get_grid(grid_id: int) -> Grid:
    """A grid by id, or NotFound."""
    grid = db.session.get(Grid, grid_id)
    if grid is None:
        raise NotFound(_l("No such grid."))
    return grid


def parse_geojson(text: str | bytes) -> list[dict[str, Any]]:
    """Validate a FeatureCollection of grid polygons; every problem is reported with the feature's index."""
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:  # RecursionError: [[[[... nested too deep
        raise ValidationFailed(_l("The file is not valid JSON: %(err)s", err=str(err)), code="invalid_geojson") from err
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise ValidationFailed(_l("The file must be a GeoJSON FeatureCollection."), code="invalid_geojson")
    features = doc["features"]
    if len(features) > MAX_FEATURES:
        raise ValidationFailed(_l("Too many features (at most %(n)d).", n=MAX_FEATURES), code="invalid_geojson")
    errors: list[str] = []
    seen: dict[str, int] = {}
    out = []
    for i, feature in enumerate(features):
        problem, item = _check_feature(feature)
        if problem is None and item["code"] in seen:
            problem = str(_l("code %(code)s repeats feature %(j)d", code=item["code"], j=seen[item["code"]]))
        if problem is not None:
            errors.append(str(_l("feature %(i)d: %(problem)s", i=i, problem=problem)))
            continue
        seen[item["code"]] = i
        out.append(item)
    if errors:
        raise ValidationFailed(
            _l("Nothing was imported. %(errors)s", errors="; ".join(errors[:20])),
            code="invalid_geojson",
            problems=errors,
        )
    return out


def _check_feature(feature: Any) -> tuple[str | None, dict[str, Any]]:
    """(problem, item): the reason a feature cannot be imported, or the clean item."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return str(_l("not a GeoJSON Feature")), {}
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        props = {}
    code = props.get("code")  # text, or a number such as 101; never a list or an object spelled out
    code = clean_text(code, single_line=True) if isinstance(code, (str, int)) and not isinstance(code, bool) else ""
    if not code or len(code) > 40:
        return str(_l("properties.code is required (1 to 40 characters)")), {}
    name = props.get("name") or code
    name = clean_text(name, single_line=True) if isinstance(name, (str, int)) and not isinstance(name, bool) else ""
    if not name or len(name) > 120:
        return str(_l("properties.name must be text of at most 120 characters")), {}
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return str(_l("the geometry must be a Polygon or MultiPolygon")), {}
    try:
        geom = shape(geometry)
    except Exception as err:  # shapely raises several types for malformed coordinates
        return str(_l("unreadable coordinates (%(err)s)", err=str(err) or type(err).__name__)), {}
    if geom.is_empty:
        return str(_l("the geometry is empty")), {}
    if not geom.is_valid:
        return str(_l("invalid geometry: %(reason)s", reason=explain_validity(geom))), {}
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        return str(_l("coordinates out of range (GeoJSON is longitude, latitude)")), {}
    item = {"code": code, "name": name, "geometry": geom.__geo_interface__}
    for key in ("department", "worker"):
        if props.get(key):
            item[key] = clean_text(str(props[key]), single_line=True)[:80]
    return None, item


def import_grids(text: str | bytes, actor: User | None = None) -> ImportResult:
    """Upsert grids by code from a GeoJSON FeatureCollection; nothing is written if any feature is invalid."""
    items = parse_geojson(text)
    depts = {d.code: d.id for d in db.session.scalars(select(Department))}
    existing = {g.code: g for g in db.session.scalars(select(Grid))}
    result = ImportResult()
    now = utcnow()
    for item in items:
        dept_id = depts.get(item.get("department", "")) if item.get("department") else None
        worker_id = None
        if item.get("worker"):
            worker_id = db.session.scalar(select(User.id).where(User.username == item["worker"]))
        grid = existing.get(item["code"])
        if grid is None:
            grid = Grid(
                code=item["code"],
                name=item["name"],
                geometry=item["geometry"],
                department_id=dept_id,
                worker_id=worker_id,
                updated_at=now,
            )
            db.session.add(grid)
            db.session.flush()
            result.created.append(grid.code)
            record(actor, "grid.create", "grid", grid.id, grid.code, {}, grid_state(grid))
            continue
        before = grid_state(grid)
        same_shape = shape(grid.geometry).equals_exact(shape(item["geometry"]), 0)
        grid.name = item["name"]
        if item.get("department"):
            grid.department_id = dept_id
        if item.get("worker"):
            grid.worker_id = worker_id
        after = grid_state(grid)
        if same_shape and before == after:
            result.unchanged.append(grid.code)
            continue
        if not same_shape:
            grid.geometry = item["geometry"]
            after["geometry"] = "changed"
            before["geometry"] = "previous"
        grid.updated_at = now
        result.updated.append(grid.code)
        record(actor, "grid.update", "grid", grid.id, grid.code, before, after)
    db.session.flush()
    return result


def export_grids() -> dict[str, Any]:
    """All grids as a GeoJSON FeatureCollection (properties code, name, and department/worker when set)."""
    features = []
    for g in all_grids():
        props: dict[str, Any] = {"code": g.code, "name": g.name}
        if g.department is not None:
            props["department"] = g.department.code
        if g.worker is not None:
            props["worker"] = g.worker.username
        features.append({"type": "Feature", "id": g.code, "properties": props, "geometry": g.geometry})
    return {"type": "FeatureCollection", "features": features}


def update_grid(grid: Grid, actor: User | None, *, name: str, worker_id: int | None, department_id: int | None) -> Grid:
    """Change a grid's name, worker and department."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed(_l("A name of 1 to 120 characters is required."))
    if worker_id is not None and db.session.get(User, worker_id) is None:
        raise ValidationFailed(_l("No such user."))
    if department_id is not None and db.session.get(Department, department_id) is None:
        raise ValidationFailed(_l("No such department."))
    before = grid_state(grid)
    grid.name, grid.worker_id, grid.department_id = name, worker_id, department_id
    if record(actor, "grid.update", "grid", grid.id, grid.code, before, grid_state(grid)):
        grid.updated_at = utcnow()
    db.session.flush()
    return grid


def delete_grid(grid: Grid, actor: User | None) -> None:
    """Remove a grid; its reports become 'outside all grids' until re-gridded."""
    db.session.execute(Report.__table__.update().where(Report.grid_id == grid.id).values(grid_id=None))
    record(actor, "grid.delete", "grid", grid.id, grid.code, grid_state(grid), {})
    db.session.delete(grid)
    db.session.flush()


def dispatch_suggestion(report: Report) -> dict[str, Any]:
    """Who to dispatch a report to: its grid's department and worker, else the category's default department
    (always, for a category marked "own department")."""
    grid = report.grid
    if report.category is not None and report.category.own_department:
        grid = None  # lifts go to market supervision wherever they are: not the grid's department nor worker
    department = grid.department if grid is not None and grid.department is not None else None
    worker = grid.worker if grid is not None and grid.worker is not None and grid.worker.active else None
    reason = "grid" if department is not None or worker is not None else None
    if department is None and report.category is not None and report.category.default_department is not None:
        department = report.category.default_department
        reason = reason or "category"
    return {"grid": grid, "department": department, "assignee": worker, "reason": reason}


def regrid_preview() -> list[tuple[Report, int | None]]:
    """Open reports whose grid would change under the current grids: (report, new grid id)."""
    open_values = [s.value for s in OPEN_STATUSES]
    rows = db.session.execute(
        select(Report.id, Report.lat, Report.lon, Report.grid_id).where(
            Report.status.in_(open_values), Report.lat.is_not(None)
        )
    ).all()
    if not rows:
        return []
    new_ids = current_index().lookup_many([r.lat for r in rows], [r.lon for r in rows])
    changed = {r.id: new for r, new in zip(rows, new_ids, strict=False) if r.grid_id != new}
    if not changed:
        return []
    reports = db.session.scalars(select(Report).where(Report.id.in_(list(changed))).order_by(Report.id))
    return [(r, changed[r.id]) for r in reports]


def regrid_open_reports(actor: User | None) -> int:
    """Put every open report in the grid that contains it now, and flag again those now outside the service
    area (drawn from the grids unless a file sets it); returns how many moved grid."""
    from app.grids.area import recheck_reports

    moves = regrid_preview()
    codes = dict(db.session.execute(select(Grid.id, Grid.code)).all()) if moves else {}
    before = {r.reference or str(r.id): codes.get(r.grid_id) for r, _n in moves[:500]}
    for report, new_id in moves:
        report.grid_id = new_id
    if moves:  # the log names grids by code (None: outside all grids); at most 500 reports are listed
        record(
            actor,
            "grid.regrid",
            "report",
            None,
            f"{len(moves)} open reports",
            {"grid": before},
            {"grid": {r.reference or str(r.id): codes.get(n) for r, n in moves[:500]}},
        )
    db.session.flush()
    recheck_reports()
    return len(moves)
