"""The service area (issue 19): a location outside it is accepted but flagged (report JSON, the board's
badge and map points); by default the grids' union, else 50 km around the map centre, or a GeoJSON file."""

import io
import json

import pytest

from app.extensions import db
from app.grids.area import outside_area, service_area
from app.grids.models import Grid
from tests import factories as f

BEIJING = (39.9042, 116.4074)
NEAR = (29.2089, 103.9512)  # Qianwei county town, 2 km from the default map centre
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[103.9, 29.2], [103.96, 29.2], [103.96, 29.23], [103.9, 29.23], [103.9, 29.2]]],
}


def file_via_api(client, headers, lat, lon):
    data = {"category": "illegal_parking", "lat": str(lat), "lon": str(lon), "photos": (io.BytesIO(f.jpeg()), "a.jpg")}
    return client.post("/api/v1/reports", data=data, headers=headers, content_type="multipart/form-data")


@pytest.fixture
def rider(app):
    _u, headers = f.make_user("rider", token=True)
    return headers


def test_without_grids_the_area_is_50_km_around_the_map_centre(client, rider):
    assert service_area().source == "centre"
    near = file_via_api(client, rider, *NEAR)
    far = file_via_api(client, rider, *BEIJING)
    assert (near.status_code, near.get_json()["outside_area"]) == (201, False)
    assert (far.status_code, far.get_json()["outside_area"]) == (201, True)  # accepted, flagged
    assert outside_area(29.2254 + 0.40, 103.9507) is False  # 44 km north
    assert outside_area(29.2254 + 0.50, 103.9507) is True  # 56 km north


def test_with_grids_the_area_is_their_union(client, rider):
    db.session.add(Grid(code="G01", name="玉津一网格", geometry=SQUARE))
    db.session.commit()
    assert service_area().source == "grids"
    assert outside_area(29.21, 103.93) is False
    assert outside_area(29.2305, 103.93) is False  # 50 m past the edge: across the street, not elsewhere
    assert outside_area(29.30, 103.93) is True  # 8 km away: inside the old circle, outside every grid
    assert file_via_api(client, rider, 29.30, 103.93).get_json()["outside_area"] is True


def test_a_geojson_file_sets_the_area(app, client, rider, tmp_path):
    path = tmp_path / "area.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": SQUARE}]}))
    app.config["SERVICE_AREA"] = str(path)
    try:
        assert service_area().source == "file"
        assert outside_area(29.21, 103.93) is False and outside_area(29.25, 103.93) is True
    finally:
        app.config["SERVICE_AREA"] = ""


def test_the_board_marks_it_and_the_map_flags_it(app, client):
    rider = f.make_user("rider")
    far = f.file_report(rider, lat=BEIJING[0], lon=BEIJING[1])
    near = f.file_report(rider)
    assert far.outside_area and not near.outside_area
    f.make_user("coord", "coordinator")
    f.log_in(client, "coord")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = client.get("/board").get_data(as_text=True)
    far_row = html.split(f'data-id="{far.id}"')[1].split("</tr>")[0]
    near_row = html.split(f'data-id="{near.id}"')[1].split("</tr>")[0]
    assert "outside-area" in far_row and "Outside the area" in far_row and "outside-area" not in near_row
    points = {p["id"]: p["outside_area"] for p in client.get("/board/map.json").get_json()["points"]}
    assert points == {far.id: True, near.id: False}
    page = client.get(f"/board/reports/{far.id}").get_data(as_text=True)
    assert 'id="outside-area"' in page


def test_a_corrected_location_is_checked_again(app, client):
    rider = f.make_user("rider")
    _c, coord = f.make_user("coord", "coordinator", token=True)
    far = f.file_report(rider, lat=BEIJING[0], lon=BEIJING[1])
    body = client.patch(f"/api/v1/reports/{far.id}", json={"version": 1, "lat": NEAR[0], "lon": NEAR[1]}, headers=coord)
    assert body.status_code == 200 and body.get_json()["outside_area"] is False


def test_the_report_page_carries_the_area_for_the_phones_warning(app, client):
    f.make_user("rider")
    f.log_in(client, "rider")
    html = client.get("/report").get_data(as_text=True)
    assert 'data-area="{&#34;circle&#34;' in html and 'data-area-name="犍为县"' in html
    assert 'id="area-warning"' in html


def test_reports_are_flagged_again_when_the_grids_change_and_by_the_command(app, client, runner):
    """Flags follow the area: drawing the grids (and re-gridding) flags the open reports now outside them and
    clears those now inside; `flask grids check-area` does it on demand (closed reports with --all), e.g. once
    after the upgrade that added the flag, when every older report read as inside."""
    from datetime import timedelta

    from app.models import utcnow
    from app.triage.workflow import Status

    rider, hour_ago = f.make_user("rider"), utcnow() - timedelta(hours=1)
    inside, town_edge = f.file_report(rider, lat=29.21, lon=103.93), f.file_report(rider, lat=29.30, lon=103.93)
    far = f.file_report(rider, lat=BEIJING[0], lon=BEIJING[1])
    done = f.report_row(rider, at=hour_ago, lat=29.30, lon=103.93)
    f.history(
        done, [(Status.ACCEPTED, hour_ago + timedelta(minutes=5)), (Status.REJECTED, hour_ago + timedelta(minutes=9))]
    )
    assert [r.outside_area for r in (inside, town_edge, far, done)] == [False, False, True, False]  # 50 km circle

    db.session.add(Grid(code="G01", name="玉津一网格", geometry=SQUARE))
    db.session.commit()
    from app.grids.services import regrid_open_reports

    regrid_open_reports(None)  # as the admin page's re-grid and `grids import --regrid` do
    db.session.commit()
    db.session.expire_all()
    assert [r.outside_area for r in (inside, town_edge, far, done)] == [False, True, True, False]  # done: closed

    result = runner.invoke(args=["grids", "check-area", "--all"])
    assert result.exit_code == 0, result.output
    assert "(grids): 4 reports checked, 1 flags changed" in result.output, result.output
    db.session.expire_all()
    assert done.outside_area is True

    from app.grids.services import delete_grid

    delete_grid(db.session.scalar(db.select(Grid)), None)
    db.session.commit()  # no grids: the circle again
    result = runner.invoke(args=["grids", "check-area"])
    assert "(centre): 3 reports checked, 1 flags changed" in result.output, result.output
    db.session.expire_all()
    assert [r.outside_area for r in (inside, town_edge, far, done)] == [False, False, True, True]
