"""Grid areas: point lookup (borders, holes, multipolygons), GeoJSON import/export, reports' grids, dispatch."""

import json
from datetime import timedelta

import pytest
from flask_babel import refresh
from shapely.geometry import shape
from sqlalchemy import select, update

from app.audit import AuditLog
from app.extensions import db
from app.grids import services
from app.grids.index import grid_for_point
from app.grids.models import Grid
from app.models import utcnow
from tests import factories as f


@pytest.fixture(autouse=True)
def english(app):
    """Import problems in English: the assertions read the source strings (the default language is Chinese)."""
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    refresh()


def square(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def feature(code, geometry, name=None, **props):
    return {"type": "Feature", "properties": {"code": code, "name": name or code, **props}, "geometry": geometry}


def collection(*features):
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


# Around Qianwei: west and east halves share the border lon 103.95.
WEST = {"type": "Polygon", "coordinates": [square(103.94, 29.20, 103.95, 29.22)]}
EAST = {"type": "Polygon", "coordinates": [square(103.95, 29.20, 103.96, 29.22)]}
# A ring with a hole in the middle, and a two-part multipolygon.
RING = {"type": "Polygon", "coordinates": [square(104.00, 29.00, 104.10, 29.10), square(104.04, 29.04, 104.06, 29.06)]}
ISLANDS = {
    "type": "MultiPolygon",
    "coordinates": [[square(104.20, 29.00, 104.21, 29.01)], [square(104.30, 29.00, 104.31, 29.01)]],
}


def load(*features):
    result = services.import_grids(collection(*features))
    db.session.commit()
    return result


def code_at(lat, lon):
    gid = grid_for_point(lat, lon)
    return db.session.get(Grid, gid).code if gid else None


def test_point_on_a_shared_border_goes_to_the_lowest_code_every_time(app):
    load(feature("Q-02", EAST), feature("Q-01", WEST))
    assert {code_at(29.21, 103.95) for _ in range(5)} == {"Q-01"}
    assert code_at(29.21, 103.949) == "Q-01"
    assert code_at(29.21, 103.951) == "Q-02"


def test_shared_corner_and_outer_boundary_points_are_inside(app):
    load(feature("Q-02", EAST), feature("Q-01", WEST))
    assert code_at(29.20, 103.95) == "Q-01"  # corner shared by both
    assert code_at(29.22, 103.96) == "Q-02"  # outer corner of the east grid only
    assert code_at(29.23, 103.95) is None


def test_point_inside_a_hole_is_outside_that_grid(app):
    load(feature("RING", RING))
    assert code_at(29.05, 104.05) is None
    assert code_at(29.02, 104.02) == "RING"
    assert code_at(29.04, 104.05) == "RING"  # on the hole's edge: the closed polygon covers it


def test_hole_filled_by_another_grid_finds_that_grid(app):
    load(
        feature("RING", RING),
        feature("ZCORE", {"type": "Polygon", "coordinates": [square(104.04, 29.04, 104.06, 29.06)]}),
    )
    assert code_at(29.05, 104.05) == "ZCORE"


def test_second_part_of_a_multipolygon_is_found(app):
    load(feature("ISL", ISLANDS))
    assert code_at(29.005, 104.305) == "ISL"
    assert code_at(29.005, 104.205) == "ISL"
    assert code_at(29.005, 104.25) is None


def test_cached_index_notices_grids_changed_elsewhere(app):
    load(feature("Q-01", WEST))
    assert code_at(29.21, 103.955) is None
    # Another process moves the grid: only the table changes, this process's cache must notice.
    db.session.execute(update(Grid).values(geometry=EAST, updated_at=utcnow() + timedelta(seconds=1)))
    db.session.commit()
    assert code_at(29.21, 103.955) == "Q-01"
    db.session.execute(Grid.__table__.delete())
    db.session.commit()
    assert code_at(29.21, 103.955) is None


def test_import_refuses_invalid_geometry_with_index_and_reason_and_writes_nothing(app):
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    try:
        services.import_grids(collection(feature("OK", WEST), feature("BAD", bowtie)))
    except services.ValidationFailed as err:
        problems = err.extra["problems"]
    else:
        raise AssertionError("an invalid polygon was accepted")
    db.session.rollback()
    assert len(problems) == 1 and problems[0].startswith("feature 1:")
    assert "Self-intersection" in problems[0]
    assert db.session.scalar(select(Grid.id)) is None


def test_import_reports_every_kind_of_bad_feature(app):
    point = {"type": "Point", "coordinates": [103.95, 29.21]}
    text = collection(
        feature("A", WEST),
        feature("", EAST),
        feature("P", point),
        feature("A", EAST),
        {
            "type": "Feature",
            "properties": {"code": "X"},
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1]]]},
        },
    )
    try:
        services.import_grids(text)
    except services.ValidationFailed as err:
        problems = err.extra["problems"]
    else:
        raise AssertionError("bad features accepted")
    assert [p.split(":")[0] for p in problems] == ["feature 1", "feature 2", "feature 3", "feature 4"]
    assert "code" in problems[0] and "Polygon" in problems[1] and "repeats feature 0" in problems[2]


def test_import_refuses_non_geojson(app):
    for text in ("not json", json.dumps({"type": "Feature"}), json.dumps([1, 2])):
        try:
            services.import_grids(text)
        except services.ValidationFailed as err:
            assert err.code == "invalid_geojson"
        else:
            raise AssertionError(text)


def test_import_upserts_by_code_and_records_audit(app):
    first = load(feature("Q-01", WEST, name="West"))
    assert first.created == ["Q-01"]
    again = load(feature("Q-01", WEST, name="West"))
    assert again.unchanged == ["Q-01"]
    moved = load(feature("Q-01", EAST, name="East", department="traffic_police"), feature("Q-02", WEST))
    assert moved.updated == ["Q-01"] and moved.created == ["Q-02"]
    grid = db.session.scalar(select(Grid).where(Grid.code == "Q-01"))
    assert grid.name == "East" and shape(grid.geometry).equals(shape(EAST))
    assert grid.department.code == "traffic_police"
    assert code_at(29.21, 103.955) == "Q-01"
    actions = [a.action for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions == ["grid.create", "grid.update", "grid.create"]


def test_export_round_trips_through_import(app):
    load(feature("Q-02", EAST, name="东"), feature("ISL", ISLANDS, name="岛"))
    exported = services.export_grids()
    assert [ft["properties"] for ft in exported["features"]] == [
        {"code": "ISL", "name": "岛"},
        {"code": "Q-02", "name": "东"},
    ]
    db.session.execute(Grid.__table__.delete())
    db.session.commit()
    load(*exported["features"])
    assert code_at(29.005, 104.305) == "ISL"


def test_new_report_gets_its_grid_and_json_shows_it(app, client):
    load(feature("Q-01", WEST, name="玉津一网格"))
    rider = f.make_user("r1")
    inside = f.file_report(rider, lat=29.21, lon=103.945)
    outside = f.file_report(rider, lat=29.30, lon=103.945)
    assert inside.grid.code == "Q-01" and outside.grid_id is None
    tok = f.api_token(rider)
    body = client.get(f"/api/v1/reports/{inside.id}", headers={"Authorization": f"Bearer {tok}"}).get_json()
    assert body["grid"] == {"code": "Q-01", "name": "玉津一网格"}
    body = client.get(f"/api/v1/reports/{outside.id}", headers={"Authorization": f"Bearer {tok}"}).get_json()
    assert body["grid"] is None


def test_dispatch_suggests_the_grids_department_and_worker(app):
    load(feature("Q-01", WEST, department="urban_management"))
    worker = f.make_user("grid_worker", role="handler")
    grid = db.session.scalar(select(Grid))
    grid.worker_id = worker.id
    db.session.commit()
    r = f.file_report(f.make_user("r1"), category="illegal_parking", lat=29.21, lon=103.945)
    s = services.dispatch_suggestion(r)
    assert (s["department"].code, s["assignee"].id, s["reason"]) == ("urban_management", worker.id, "grid")
    elsewhere = f.file_report(f.make_user("r2"), category="illegal_parking", lat=29.5, lon=103.945)
    s = services.dispatch_suggestion(elsewhere)
    assert (s["department"].code, s["assignee"], s["reason"]) == ("traffic_police", None, "category")


def test_regrid_moves_open_reports_only(app):
    rider = f.make_user("r1")
    open_r = f.file_report(rider, lat=29.21, lon=103.955)
    closed_r = f.history(f.file_report(rider, lat=29.21, lon=103.955), [("rejected", utcnow(), {})])
    assert open_r.grid_id is None
    load(feature("Q-02", EAST))
    assert [r.id for r, _g in services.regrid_preview()] == [open_r.id]
    assert services.regrid_open_reports(None) == 1
    db.session.commit()
    assert open_r.grid.code == "Q-02" and closed_r.grid_id is None
    assert services.regrid_preview() == []


def test_cli_import_and_export(app, runner, tmp_path):
    path = tmp_path / "grids.geojson"
    path.write_text(collection(feature("Q-01", WEST)))
    result = runner.invoke(args=["grids", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    out = runner.invoke(args=["grids", "export"])
    assert json.loads(out.output)["features"][0]["properties"] == {"code": "Q-01", "name": "Q-01"}
    bad = tmp_path / "bad.geojson"
    bad.write_text(
        collection(feature("Q-09", {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}))
    )
    result = runner.invoke(args=["grids", "import", str(bad)])
    assert result.exit_code != 0
    assert "feature 0" in result.output and "Self-intersection" in result.output
    assert db.session.scalar(select(Grid.code).where(Grid.code == "Q-09")) is None
