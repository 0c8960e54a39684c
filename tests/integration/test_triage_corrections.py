"""Staff correct a report's category and location: a timeline event each, with the grid, the suggested
department, the deadlines and the priority worked out again; PATCH /api/v1/reports/<id>."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.grids.models import Grid
from app.models import Category, Department, Report, ReportEvent
from tests import factories as f

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[104.0, 29.3], [104.1, 29.3], [104.1, 29.4], [104.0, 29.4], [104.0, 29.3]]],
}


@pytest.fixture
def cast(app):
    rider, rider_h = f.make_user("rider", token=True)
    _coord, coord_h = f.make_user("coord", "coordinator", display_name="Coordinator Li", token=True)
    _handler, handler_h = f.make_user("handler", "handler", department="traffic_police", token=True)
    for h in (rider_h, coord_h, handler_h):
        h["Accept-Language"] = "en"
    report = f.report_row(rider, "illegal_parking")
    return {"report": report, "rider": rider_h, "coord": coord_h, "handler": handler_h}


def patch(client, report, body, headers):
    return client.patch(f"/api/v1/reports/{report.id}", json=body, headers=headers)


def code_of(model, code):
    return db.session.scalar(select(model).where(model.code == code))


def test_a_new_category_brings_its_department_deadlines_and_priority(client, cast):
    report = cast["report"]
    old = report.category
    filed_accept, filed_resolve = report.accept_due_at, report.resolve_due_at
    resp = patch(
        client, report, {"version": 1, "category": "fire_lane_blocked", "note": "it is a fire lane"}, cast["coord"]
    )
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["category"], body["department"], body["priority"], body["version"]) == (
        "fire_lane_blocked",
        "fire_brigade",
        "urgent",
        2,
    )
    db.session.expire_all()
    fresh = db.session.get(Report, report.id)
    new = code_of(Category, "fire_lane_blocked")
    assert fresh.accept_due_at == filed_accept + timedelta(hours=new.accept_hours - old.accept_hours)
    assert fresh.resolve_due_at == filed_resolve + timedelta(hours=new.resolve_hours - old.resolve_hours)
    event = db.session.scalar(select(ReportEvent).where(ReportEvent.report_id == report.id, ReportEvent.kind == "edit"))
    assert event.details["previous_category"] == "illegal_parking" and event.details["category"] == "fire_lane_blocked"
    assert event.internal and event.note == "it is a fire lane"


def test_a_dispatched_reports_department_stays(client, cast):
    report = f.history(
        cast["report"], [("accepted", f.utcnow()), ("assigned", f.utcnow(), {"department_id": "environment"})]
    )
    resp = patch(client, report, {"version": report.version, "category": "noise"}, cast["coord"])
    assert resp.status_code == 200 and resp.get_json()["department"] == "environment"


def test_a_moved_pin_brings_the_grid_and_is_on_the_timeline(client, cast):
    grid = Grid(code="G7", name="新网格", geometry=SQUARE)
    db.session.add(grid)
    db.session.commit()
    report = cast["report"]
    assert report.grid_id is None
    resp = patch(client, report, {"version": 1, "lat": 29.35, "lon": 104.05}, cast["coord"])
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["lat"], body["lon"], body["grid"]["code"], body["location_source"]) == (29.35, 104.05, "G7", "map")
    event = db.session.scalar(select(ReportEvent).where(ReportEvent.report_id == report.id, ReportEvent.kind == "edit"))
    assert event.details["moved_m"] > 10_000 and event.details["grid_id"] == grid.id
    f.log_in(client, "coord")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    assert "Location corrected (moved" in html


def test_a_stale_version_is_409_and_riders_and_handlers_are_refused(client, cast):
    report = cast["report"]
    assert patch(client, report, {"version": 1, "category": "noise"}, cast["coord"]).status_code == 200
    stale = patch(client, report, {"version": 1, "category": "garbage"}, cast["coord"])
    assert (stale.status_code, stale.get_json()["error"]["code"]) == (409, "stale_version")
    for who in ("rider", "handler"):
        refused = patch(client, report, {"version": 2, "category": "garbage"}, cast[who])
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "forbidden")
    db.session.expire_all()
    assert db.session.get(Report, report.id).category.code == "noise"


@pytest.mark.parametrize(
    "body,code",
    [
        ({"version": 1}, "nothing_to_change"),
        ({"version": 1, "category": "no_such"}, "unknown_category"),
        ({"version": 1, "lat": 95, "lon": 104}, "invalid_location"),
        ({"version": 1, "lat": "x", "lon": 104}, "invalid_number"),
        ({"category": "noise"}, "version_required"),
    ],
)
def test_bad_corrections_are_400(client, cast, body, code):
    resp = patch(client, cast["report"], body, cast["coord"])
    assert (resp.status_code, resp.get_json()["error"]["code"]) == (400, code)


def test_the_page_corrects_the_category(client, cast):
    report = cast["report"]
    f.log_in(client, "coord")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    assert 'data-draggable="1"' in html and 'id="correct-lat"' in html
    resp = client.post(
        f"/board/reports/{report.id}/correct",
        data={
            "csrf_token": f.csrf_from(html),
            "version": "1",
            "category": "noise",
            "lat": report.lat,
            "lon": report.lon,
        },
    )
    assert resp.status_code == 302
    db.session.expire_all()
    fresh = db.session.get(Report, report.id)
    assert fresh.category.code == "noise" and fresh.department_id == code_of(Department, "environment").id
    html = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    assert "Category corrected: Illegal parking → Noise nuisance" in html
