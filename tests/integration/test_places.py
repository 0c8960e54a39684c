"""Places by name: the gazetteer (import, admin), a report's place label, the place search (Chinese, pinyin
initials, nearest first), and dispatch by grid (属地派遣)."""

import io
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.grids import services as grids
from app.grids.models import Grid
from app.models import Category, Department
from app.reports import places
from app.reports.models import Place
from tests import factories as f

HOSPITAL = (29.2100, 103.9500)  # 犍为县人民医院
# ~80 m northeast of the hospital: 57 m north and 57 m east
NE_OF_HOSPITAL = (HOSPITAL[0] + 57 / 111_000, HOSPITAL[1] + 57 / (111_000 * 0.8729))

GAZETTEER = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [HOSPITAL[1], HOSPITAL[0]]},
            "properties": {"name": "犍为县人民医院", "kind": "hospital"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [103.9600, 29.2200]},
            "properties": {"name": "滨河小区", "kind": "compound"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [103.9400, 29.2000]},
            "properties": {"name": "县中医医院", "kind": "hospital"},
        },
    ],
}
TOWN = {
    "type": "Polygon",
    "coordinates": [[[103.94, 29.20], [103.97, 29.20], [103.97, 29.23], [103.94, 29.23], [103.94, 29.20]]],
}


def load_places(data=GAZETTEER):
    result = places.import_places(json.dumps(data, ensure_ascii=False), "places.geojson")
    db.session.commit()
    return result


def load_grid(code="YJ-01", name="玉津镇滨河社区", department="urban_management", worker=None):
    feature = {
        "type": "Feature",
        "geometry": TOWN,
        "properties": {"code": code, "name": name, "department": department},
    }
    grids.import_grids(json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False))
    grid = db.session.scalar(select(Grid).where(Grid.code == code))
    if worker is not None:
        grid.worker_id = worker.id
    db.session.commit()
    return grid


def test_search_keys_carry_pinyin_initials():
    key = places.search_key("犍为县人民医院")
    assert "rmyy" in key and "犍为县人民医院" in key and "renminyiyuan" in key


def test_import_is_idempotent_by_name_and_position_and_all_or_nothing(app, runner, tmp_path):
    assert load_places().created == 3
    again = load_places()
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    moved = json.loads(json.dumps(GAZETTEER))
    moved["features"][0]["properties"]["kind"] = "landmark"
    assert load_places(moved).updated == 1
    # CSV, with and without a header; a bad line imports nothing and names the line.
    csv_file = tmp_path / "places.csv"
    csv_file.write_text("name,kind,lat,lon\n玉津菜市场,market,29.2150,103.9550\n", encoding="utf-8")
    out = runner.invoke(args=["places", "import", str(csv_file)])
    assert out.exit_code == 0 and "1 created" in out.output, out.output
    out = runner.invoke(args=["places", "import", str(csv_file)])
    assert "0 created, 0 updated, 1 unchanged" in out.output
    bad = tmp_path / "bad.csv"
    bad.write_text("公交站,bus_stop,29.21,103.95\n无位置,shop,,\n,shop,29.2,103.9\n", encoding="utf-8")
    before = db.session.scalar(select(func.count()).select_from(Place))
    out = runner.invoke(args=["places", "import", str(bad)])
    assert out.exit_code != 0 and "line 2: no valid position" in out.output and "line 3" in out.output
    assert db.session.scalar(select(func.count()).select_from(Place)) == before


def test_a_report_is_labelled_by_its_grid_and_the_nearest_landmark(app, client):
    load_places()
    load_grid()
    rider = f.make_user("rider1")
    r = f.file_report(rider, lat=NE_OF_HOSPITAL[0], lon=NE_OF_HOSPITAL[1])
    assert r.place["grid"] == "玉津镇滨河社区" and r.place["landmark"] == "犍为县人民医院"
    assert r.place["bearing"] == "NE" and 75 <= r.place["distance_m"] <= 85
    zh = places.label(r.place, "zh_CN")
    assert zh.startswith("玉津镇滨河社区 · 犍为县人民医院") and "东北" in zh and "米" in zh
    en = places.label(r.place, "en")
    assert "northeast" in en and " m " in en
    headers = {**f.bearer(f.api_token(rider)), "Accept-Language": "zh-CN"}
    assert client.get(f"/api/v1/reports/{r.id}", headers=headers).get_json()["place"] == zh
    headers["Accept-Language"] = "en"
    assert client.get(f"/api/v1/reports/{r.id}", headers=headers).get_json()["place"] == en
    f.log_in(client, rider)
    assert "犍为县人民医院" in client.get(f"/reports/{r.id}").get_data(as_text=True)
    # Right next to a landmark; far from all of them and outside the grids: the coordinates stay.
    beside = f.file_report(rider, lat=HOSPITAL[0] + 0.00005, lon=HOSPITAL[1])
    assert places.label(beside.place, "zh_CN").endswith("犍为县人民医院旁")
    far = f.file_report(rider, lat=29.5, lon=104.2)
    assert far.place is None and places.place_of(far, "en") == "29.50000, 104.20000"


@pytest.mark.parametrize(
    ("q", "first"),
    [("人民医院", "犍为县人民医院"), ("rmyy", "犍为县人民医院"), ("RMYY", "犍为县人民医院"), ("binhe", "滨河小区")],
)
def test_search_by_name_and_pinyin(app, q, first):
    load_places()
    found = places.search(q)
    assert found and found[0]["name"] == first


def test_search_nearest_first_with_the_grid(app, client):
    load_places()
    load_grid()
    near_chinese_medicine = (29.2001, 103.9401)
    names = [p["name"] for p in places.search("yy", *near_chinese_medicine)]
    assert names == ["县中医医院", "犍为县人民医院"]
    names = [p["name"] for p in places.search("yy", *NE_OF_HOSPITAL)]
    assert names == ["犍为县人民医院", "县中医医院"]
    headers = f.bearer(f.api_token(f.make_user("rider1")))
    body = client.get("/api/v1/places?q=rmyy&lat=29.2&lon=103.95", headers=headers).get_json()
    item = body["items"][0]
    assert item["name"] == "犍为县人民医院" and item["grid"] == "玉津镇滨河社区" and item["kind"] == "hospital"
    assert item["distance_m"] > 1000
    assert (
        client.get("/api/v1/places?lat=29.22&lon=103.96&limit=1", headers=headers).get_json()["items"][0]["name"]
        == "滨河小区"
    )
    for bad in ("/api/v1/places", "/api/v1/places?q=x&lat=95&lon=1", "/api/v1/places?q=x&limit=0"):
        answer = client.get(bad, headers=headers)
        assert answer.status_code == 400 and answer.get_json()["error"]["message"], bad
    assert client.get("/api/v1/places?q=rmyy").status_code == 401
    # The search sees a place added after it was built.
    places.add_place("人民公园", "park", 29.215, 103.952)
    db.session.commit()
    assert places.search("rmgy")[0]["name"] == "人民公园"


def test_dispatch_by_grid_with_the_category_fallback_and_override(app, client):
    worker = f.make_user("grid_worker", role="handler", department="urban_management")
    load_grid(worker=worker)
    rider = f.make_user("rider1")
    parking = f.file_report(rider, category="illegal_parking", lat=29.21, lon=103.95)
    assert parking.department.code == "urban_management", "the grid's department"
    outside = f.file_report(rider, category="illegal_parking", lat=29.5, lon=103.95)
    assert outside.department.code == "traffic_police", "outside all grids: the category's"
    lift = f.file_report(rider, category="elevator_hazard", lat=29.21, lon=103.95)
    assert lift.department.code == "market_supervision", "lifts go to market supervision wherever they are"
    assert grids.dispatch_suggestion(lift)["assignee"] is None
    # A grid without a department: the category's.
    grid = db.session.scalar(select(Grid))
    grid.department_id = None
    db.session.commit()
    assert f.file_report(rider, category="noise", lat=29.21, lon=103.95).department.code == "environment"
    # An admin can mark a category "always its own department".
    noise = db.session.scalar(select(Category).where(Category.code == "noise"))
    grid.department_id = db.session.scalar(select(Department.id).where(Department.code == "urban_management"))
    noise.own_department = True
    db.session.commit()
    assert f.file_report(rider, category="noise", lat=29.21, lon=103.95).department.code == "environment"

    # The board's dispatch form preselects the grid's department and worker.
    coord = f.make_user("coord1", role="coordinator")
    from app.triage.services import transition

    transition(parking, coord, "accepted", version=parking.version)
    db.session.commit()
    f.log_in(client, coord)
    page = client.get(f"/board/reports/{parking.id}").get_data(as_text=True)
    assert 'value="urban_management" selected' in page
    assert f'value="{worker.id}" selected' in page


def test_the_grid_worker_sees_the_new_reports_of_their_grid(app, client):
    worker = f.make_user("grid_worker", role="handler", department="public_works")
    load_grid(worker=worker)
    rider = f.make_user("rider1")
    mine = f.file_report(rider, category="illegal_parking", lat=29.21, lon=103.95)
    elsewhere = f.file_report(rider, category="illegal_parking", lat=29.5, lon=103.95)
    f.log_in(client, worker)
    page = client.get("/tasks").get_data(as_text=True)
    assert mine.reference in page and elsewhere.reference not in page
    assert client.get(f"/board/reports/{mine.id}").status_code == 200
    assert client.get(f"/board/reports/{elsewhere.id}").status_code in (403, 404)


def test_the_admin_places_page(app, client):
    from tests.integration.test_admin import admin_client, csrf

    admin_client(client)
    token = csrf(client, "/admin/places")
    bad = client.post(
        "/admin/places/import",
        content_type="multipart/form-data",
        data={"csrf_token": token, "file": (io.BytesIO(b"x,shop,95,1\n"), "p.csv")},
    )
    assert bad.status_code == 400 and "no valid position" in bad.get_data(as_text=True)
    ok = client.post(
        "/admin/places/import",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(json.dumps(GAZETTEER, ensure_ascii=False).encode()), "p.geojson"),
        },
        follow_redirects=True,
    )
    assert ok.status_code == 200 and "3 created" in ok.get_data(as_text=True)
    added = client.post(
        "/admin/places/new",
        data={"csrf_token": token, "name": "玉津菜市场", "kind": "market", "lat": "29.215", "lon": "103.955"},
        follow_redirects=True,
    )
    assert "玉津菜市场" in added.get_data(as_text=True)
    listing = client.get("/admin/places?q=rmyy").get_data(as_text=True)
    assert "犍为县人民医院" in listing and "滨河小区" not in listing
    pid = db.session.scalar(select(Place.id).where(Place.name == "滨河小区"))
    client.post("/admin/places/delete", data={"csrf_token": token, "id": str(pid)})
    assert db.session.get(Place, pid) is None
    assert client.post("/admin/places/delete", data={"id": str(pid)}).status_code in (302, 400)
    f.log_in(client, f.make_user("coord1", role="coordinator"))
    assert client.get("/admin/places").status_code == 403


def test_the_demo_looks_like_the_county(app):
    from app.demo import load_demo

    load_demo(12)
    grid_rows = db.session.scalars(select(Grid)).all()
    assert 8 <= len(grid_rows) <= 12
    assert all(g.worker is not None and g.department is not None and g.name.startswith("玉津镇") for g in grid_rows)
    assert 180 <= db.session.scalar(select(func.count()).select_from(Place)) <= 220
    from app.models import Report

    reports = db.session.scalars(select(Report)).all()
    assert all(r.grid_id is not None and r.place and r.place["grid"] and r.place.get("landmark") for r in reports)
    assert len({r.grid_id for r in reports}) >= 5, "spread over the town"
    assert places.search("rmyy")[0]["name"] == "犍为县人民医院"


def test_the_demo_riders_sign_in_by_text_message(app, client):
    from app.demo import load_demo

    load_demo(2)
    code = f.sms_code("13800138001")
    answer = client.post("/api/v1/auth/sms/verify", json={"phone": "138 0013 8001", "code": code, "token": True})
    assert answer.status_code == 200, answer.get_json()
    me = client.get("/api/v1/notifications", headers=f.bearer(answer.get_json()["token"]))
    assert me.status_code == 200


def test_open311_addresses_are_placed_by_the_gazetteer_first(app, client):
    from app.models import Report
    from tests.integration.test_open311 import post

    load_places()
    key = f.api_token(f.make_user("rider1"))
    r = post(client, key, lat=None, long=None, address_string="犍为县人民医院门口")
    assert r.status_code == 200, r.get_data(as_text=True)
    report = db.session.scalar(select(Report).where(Report.reference == r.get_json()[0]["service_request_id"]))
    assert (report.lat, report.lon) == HOSPITAL and report.address == "犍为县人民医院门口"
    assert report.location_source == "address" and report.place["landmark"] == "犍为县人民医院"
    # Two hospitals equally named in the text: no guess, the coordinator sets the pin.
    r = post(client, key, lat=None, long=None, address_string="医院")
    report = db.session.scalar(select(Report).where(Report.reference == r.get_json()[0]["service_request_id"]))
    assert report.lat is None and report.address == "医院"


def test_the_weekly_hotspots_are_named_by_place(app, client):
    from datetime import UTC, datetime

    from app.i18n import local_zone
    from app.summaries.services import weekly_summary
    from app.summaries.weeks import week_of

    load_places()
    load_grid()
    rider = f.make_user("rider1")
    for i in range(3):
        f.file_report(rider, lat=NE_OF_HOSPITAL[0] + i * 0.0001, lon=NE_OF_HOSPITAL[1])
    week = week_of(datetime.now(UTC), local_zone())
    s = weekly_summary(week.name)
    spot = s.hotspots[0]
    assert spot.count == 3 and spot.place["landmark"] == "犍为县人民医院" and spot.place["grid"] == "玉津镇滨河社区"
    assert "犍为县人民医院" in s.narrative["zh"] and "犍为县人民医院" in s.narrative["en"]
    f.log_in(client, f.make_user("coord1", role="coordinator"))
    page = client.get(f"/summaries/{week.name}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "玉津镇滨河社区 · 犍为县人民医院 东北" in page


def test_the_board_shows_the_place(app, client):
    load_places()
    load_grid()
    r = f.file_report(f.make_user("rider1"), lat=NE_OF_HOSPITAL[0], lon=NE_OF_HOSPITAL[1])
    coord = f.make_user("coord1", role="coordinator")
    f.log_in(client, coord)
    page = client.get("/board", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "玉津镇滨河社区 · 犍为县人民医院 东北" in page
    items = client.get("/api/v1/reports", headers={**f.bearer(f.api_token(coord)), "Accept-Language": "en"}).get_json()
    item = next(i for i in items["items"] if i["id"] == r.id)
    assert item["place"].startswith("玉津镇滨河社区 · 犍为县人民医院") and "northeast" in item["place"]


def test_notifications_name_the_place(app):
    from app.notify.messages import render
    from app.notify.models import Notification
    from app.triage.services import transition

    load_places()
    worker = f.make_user("grid_worker", role="handler", department="urban_management")
    load_grid(worker=worker)
    r = f.file_report(f.make_user("rider1"), lat=NE_OF_HOSPITAL[0], lon=NE_OF_HOSPITAL[1])
    coord = f.make_user("coord1", role="coordinator")
    transition(r, coord, "accepted", version=r.version)
    transition(r, coord, "assigned", version=r.version, assignee_id=worker.id)
    db.session.commit()
    n = db.session.scalar(select(Notification).where(Notification.user_id == worker.id))
    zh = render(n.kind, n.params, "zh_CN")[1]
    en = render(n.kind, n.params, "en")[1]
    assert "（玉津镇滨河社区 · 犍为县人民医院 东北" in zh and "犍为县人民医院" in en and "northeast" in en


def test_a_pin_set_by_a_coordinator_names_the_place_and_takes_the_grids_department(app):
    from app.triage.services import set_location

    load_places()
    load_grid(department="property")
    rider, coord = f.make_user("rider1"), f.make_user("coord1", role="coordinator")
    r = f.file_report(rider, category="noise", lat=29.5, lon=104.2)  # outside the grids: the category's
    assert r.department.code == "environment" and r.place is None
    set_location(r, coord, NE_OF_HOSPITAL[0], NE_OF_HOSPITAL[1], version=r.version)
    db.session.commit()
    assert r.place["landmark"] == "犍为县人民医院" and r.department.code == "property"
