"""Open311 GeoReport v2: the departures from the spec that outside clients found (issue 22), one test each."""

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Category, Report, ReportEvent, utcnow
from tests import factories as f
from tests.integration.test_open311 import V2, FakeLocator, filed, post
from tests.open311_checks import check_xml, validate


@pytest.fixture(autouse=True)
def english(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def key(app):
    return f.api_token(f.make_user("rider1"))


# 1. The discovery changeset ------------------------------------------------------------------------------


def changeset(client, fmt="json") -> str:
    if fmt == "xml":
        root = check_xml(client.get("/open311/discovery.xml"), "discovery")
        assert root.findtext("endpoints/endpoint/changeset") == root.findtext("changeset")
        return root.findtext("changeset")
    data = client.get("/open311/discovery.json").get_json()
    assert data["endpoints"][0]["changeset"] == data["changeset"]
    return data["changeset"]


def test_changeset_is_a_w3c_datetime_in_both_formats(client):
    value = changeset(client)
    assert datetime.fromisoformat(value).tzinfo is not None and "T" in value  # e.g. 2026-11-29T21:00:00+08:00
    assert changeset(client, "xml") == value


LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def REACTIVATE(c):  # noqa: N802  (a named case of the table below)
    c.active = True


def all_changed_long_ago() -> None:
    for c in db.session.scalars(select(Category)):
        c.updated_at = LONG_AGO
    db.session.commit()


@pytest.mark.parametrize(
    "change",
    [
        lambda c: setattr(c, "active", False),
        REACTIVATE,
        lambda c: setattr(c, "name_en", "Broken road surface"),
        lambda c: setattr(c, "description_zh", "路面坑洼、破损"),
    ],
    ids=["deactivated", "reactivated", "renamed", "described"],
)
def test_changeset_moves_when_a_service_changes(app, client, change):
    all_changed_long_ago()
    before = changeset(client)
    assert changeset(client) == before  # stable while nothing changes
    cat = db.session.scalar(select(Category).where(Category.code == "road_damage"))
    if change is REACTIVATE:
        cat.active = False
        cat.updated_at = LONG_AGO
        db.session.commit()
    change(cat)
    db.session.commit()
    after = changeset(client)
    assert datetime.fromisoformat(after) > datetime.fromisoformat(before)
    assert datetime.fromisoformat(after) == cat.updated_at.replace(microsecond=0)


def test_changeset_moves_when_a_category_is_added(app, client):
    all_changed_long_ago()
    before = changeset(client)
    db.session.add(Category(code="bike_lane", name_zh="非机动车道占用", name_en="Bike lane blocked"))
    db.session.commit()
    assert datetime.fromisoformat(changeset(client)) > datetime.fromisoformat(before)


def test_changeset_is_at_least_the_attribute_definitions_change(app, client):
    from app.api.open311_services import ATTRIBUTES_CHANGED

    all_changed_long_ago()
    assert datetime.fromisoformat(changeset(client)) == ATTRIBUTES_CHANGED


# 2. POST with an unknown service_code is 404 --------------------------------------------------------------


def test_post_with_an_unknown_service_code_is_404(client, key):
    for fmt in ("json", "xml"):
        r = post(client, key, fmt=fmt, service_code="no_such_service")
        assert r.status_code == 404, r.get_data(as_text=True)
        if fmt == "json":
            assert r.get_json()[0] == {
                "code": 404,
                "description": "Unknown service_code no_such_service: see services.json for the list.",
            }
        else:
            assert check_xml(r, "errors")[0].findtext("code") == "404"
    inactive = db.session.scalar(select(Category).where(Category.code == "noise"))
    inactive.active = False
    db.session.commit()
    assert post(client, key, service_code="noise").status_code == 404
    assert db.session.scalar(select(db.func.count()).select_from(Report)) == 0


# 3. A location given only as an address -------------------------------------------------------------------


def test_an_address_no_geocoder_can_place_is_filed_as_location_needed_keeping_its_text(client, key):
    r = post(client, key, lat=None, long=None, address_string="犍为县玉津镇新民街 12 号")
    assert r.status_code == 200, r.get_data(as_text=True)
    report = db.session.scalar(select(Report).where(Report.reference == r.get_json()[0]["service_request_id"]))
    assert report.address == "犍为县玉津镇新民街 12 号" and not report.has_location
    assert (report.lat, report.lon, report.cell, report.location_source) == (None, None, None, "none")
    item = client.get(f"{V2}/requests/{report.reference}.json").get_json()
    validate("requests.json", item)
    assert item[0]["address"] == "犍为县玉津镇新民街 12 号" and item[0]["lat"] is None
    check_xml(client.get(f"{V2}/requests.xml"), "requests")


def test_fixmystreets_not_pinpointed_address_id_is_accepted(client, key):
    report = filed(client, key, lat=None, long=None, address_id="#NOTPINPOINTED#")
    assert not report.has_location and report.address is None and "address_id" not in report.attributes
    other = filed(client, key, lat=None, long=None, address_id="UPRN-100023")
    assert other.attributes["address_id"] == "UPRN-100023"  # no gazetteer yet: kept for the coordinator


def test_an_address_the_geocoder_finds_is_pinned_and_one_it_cannot_waits_for_a_coordinator(app, client, key):
    app.extensions["address_locator"] = FakeLocator()
    found = filed(client, key, lat=None, long=None, address_string="Xinmin Street 12, Qianwei")
    assert (found.lat, found.lon) == f.QIANWEI and found.location_source == "address"
    lost = filed(client, key, lat=None, long=None, address_string="Nowhere at all")
    assert not lost.has_location and lost.address == "Nowhere at all"


def test_a_geocoder_that_is_down_files_the_report_without_a_pin(app, client, key):
    from app.api.open311_services import AddressLocator

    locator = AddressLocator("nominatim", "gridsnap-test", 0.5)

    class Down:
        def geocode(self, *a, **kw):
            raise OSError("network unreachable")

    locator._geocoder = Down()
    app.extensions["address_locator"] = locator
    report = filed(client, key, lat=None, long=None, address_string="Xinmin Street 12")
    assert not report.has_location and report.address == "Xinmin Street 12"


def test_location_needed_is_on_the_board_and_a_coordinator_sets_the_pin(app, client, key):
    report = filed(client, key, lat=None, long=None, address_string="新民街 12 号")
    coord = f.make_user("coord", role="coordinator")
    f.log_in(client, coord)
    board = client.get("/board").get_data(as_text=True)
    row = board[board.index(report.reference) :].split("</tr>")[0]
    assert "Location needed" in row
    assert all(p["id"] != report.id for p in client.get("/board/map.json").get_json()["points"])
    page = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    assert "Location needed" in page and "新民街 12 号" in page and 'id="report-map"' not in page
    token = f.csrf_from(page)
    form = {"csrf_token": token, "version": report.version, "lat": "29.21", "lon": "103.95"}
    assert client.post(f"/board/reports/{report.id}/location", data={**form, "csrf_token": ""}).status_code == 400
    assert client.post(f"/board/reports/{report.id}/location", data={**form, "lat": "95"}).status_code == 400
    r = client.post(f"/board/reports/{report.id}/location", data=form)
    assert r.status_code == 302
    db.session.expire_all()
    report = db.session.get(Report, report.id)
    assert (report.lat, report.lon, report.location_source) == (29.21, 103.95, "staff")
    assert report.cell is not None and report.address == "新民街 12 号" and report.version == 2
    assert any(p["id"] == report.id for p in client.get("/board/map.json").get_json()["points"])
    assert "Pin set at 29.21000, 103.95000" in client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    stale = client.post(f"/board/reports/{report.id}/location", data=form)  # version 1 again
    assert stale.status_code == 409


def test_only_coordinators_set_a_pin(app, client, key):
    report = filed(client, key, lat=None, long=None, address_string="新民街 12 号")
    handler = f.make_user("hdl", role="handler")
    f.log_in(client, handler)
    token = f.csrf_from(client.get("/profile").get_data(as_text=True))
    form = {"csrf_token": token, "lat": "29.2", "lon": "103.9", "version": "1"}
    assert client.post(f"/board/reports/{report.id}/location", data=form).status_code == 403
    assert db.session.get(Report, report.id).lat is None


def test_duplicates_summaries_and_notifications_live_with_a_report_without_a_pin(app, client, key):
    from app.i18n import local_zone
    from app.summaries.services import weekly_summary
    from app.triage.duplicates import duplicate_candidates

    pinned = [filed(client, key, service_code="road_damage") for _ in range(2)]
    waiting = filed(client, key, service_code="road_damage", lat=None, long=None, address_string="新民街")
    assert duplicate_candidates(waiting) == []
    assert [r.id for r, _d in duplicate_candidates(pinned[0])] == [pinned[1].id]  # not the one without a pin
    summary = weekly_summary(utcnow().astimezone(local_zone()).strftime("%G-W%V"))
    assert [h.count for h in summary.hotspots] == [2]  # the pinned ones; the other has no place yet
    coord = f.make_user("coord", role="coordinator")
    f.log_in(client, coord)
    assert client.get(f"/board/reports/{waiting.id}").status_code == 200


# 4. api_key (and the other POST parameters) in the query string --------------------------------------------


def test_post_parameters_may_come_in_the_query_string(client, key):
    query = {"api_key": key, "service_code": "noise", "lat": "29.2", "long": "103.9"}
    r = client.post(f"{V2}/requests.json", query_string=query, data={"description": "Drums at 2am"})
    assert r.status_code == 200, r.get_data(as_text=True)
    report = db.session.scalar(select(Report))
    assert report.category.code == "noise" and report.description == "Drums at 2am"
    only_key = client.post(
        f"{V2}/requests.xml",
        query_string={"api_key": key},
        data={"service_code": "garbage", "lat": "29.2", "long": "103.9"},
    )
    assert only_key.status_code == 200, only_key.get_data(as_text=True)
    rest = {k: v for k, v in query.items() if k != "api_key"}
    assert client.post(f"{V2}/requests.json", query_string={"api_key": "gs_nope"}, data=rest).status_code == 403
    # The body wins over the query when both name a parameter.
    both = client.post(f"{V2}/requests.json", query_string={"api_key": "gs_nope"}, data={**rest, "api_key": key})
    assert both.status_code == 200


# 5. updated_datetime moves with status_notes ----------------------------------------------------------------


def test_updated_datetime_moves_when_a_public_staff_comment_changes_status_notes(app, client, key):
    from app.triage.services import add_comment

    report = filed(client, key)
    first = client.get(f"{V2}/requests/{report.reference}.json").get_json()[0]
    coord = f.make_user("coord", role="coordinator")
    event = add_comment(report, coord, "Crew booked for Monday.")
    event.created_at = report.updated_at + timedelta(minutes=5)
    db.session.commit()
    item = client.get(f"{V2}/requests/{report.reference}.json").get_json()[0]
    assert item["status_notes"] == "Crew booked for Monday."
    assert datetime.fromisoformat(item["updated_datetime"]) == event.created_at.replace(microsecond=0)
    assert item["updated_datetime"] > first["updated_datetime"]
    hidden = add_comment(report, coord, "internal only", internal=True)
    hidden.created_at = event.created_at + timedelta(minutes=5)
    db.session.commit()
    assert client.get(f"{V2}/requests/{report.reference}.json").get_json()[0] == item  # nothing shown moved


# 6. Repeated keys mean the comma form ------------------------------------------------------------------------


def test_repeated_keys_mean_the_same_as_the_comma_form(app, client):
    from tests.integration.test_open311 import make_reports, refs

    road, noise, _old = make_reports(f.make_user("rider1"))
    both = refs(client.get(f"{V2}/requests.json?status=open,closed"))
    assert (
        refs(client.get(f"{V2}/requests.json?status=open&status=closed"))
        == both
        == [
            noise.reference,
            road.reference,
        ]
    )
    assert refs(client.get(f"{V2}/requests.json?service_code=noise&service_code=road_damage")) == both
    ids = f"service_request_id={road.reference}&service_request_id={noise.reference}"
    assert sorted(refs(client.get(f"{V2}/requests.json?{ids}"))) == sorted(both)


# 7. Carriage returns in XML -----------------------------------------------------------------------------------


def test_carriage_returns_read_the_same_in_xml_as_in_json(client, key):
    filed(client, key, description="Line one\r\nLine two\rend")
    js = client.get(f"{V2}/requests.json").get_json()[0]["description"]
    assert js == "Line one\r\nLine two\rend"
    body = client.get(f"{V2}/requests.xml").get_data()
    assert b"&#13;" in body
    assert ElementTree.fromstring(body)[0].findtext("description") == js


def test_a_staff_transition_note_is_an_update_too(app, client, key):
    """status_notes comes from moves as well as comments, and its time is the move's."""
    from app.triage.services import transition

    report = filed(client, key)
    coord = f.make_user("coord", role="coordinator")
    transition(
        report, coord, "accepted", version=report.version, reply="On our list."
    )  # the reply to the rider is public
    db.session.commit()
    item = client.get(f"{V2}/requests/{report.reference}.json").get_json()[0]
    event = db.session.scalar(select(ReportEvent).where(ReportEvent.kind == "transition"))
    assert item["status_notes"] == "On our list."
    assert datetime.fromisoformat(item["updated_datetime"]) == event.created_at.replace(microsecond=0)


def test_the_json_api_and_the_riders_page_show_a_report_without_a_pin(app, client, key):
    report = filed(client, key, lat=None, long=None, address_string="新民街 12 号")
    coordinator = f.api_token(f.make_user("coord", role="coordinator"))
    headers = {"Authorization": f"Bearer {coordinator}"}
    listed = client.get("/api/v1/reports", headers=headers).get_json()["items"]
    assert [(i["reference"], i["lat"], i["lon"]) for i in listed] == [(report.reference, None, None)]
    one = client.get(f"/api/v1/reports/{report.id}", headers=headers)
    assert one.status_code == 200 and one.get_json()["location_source"] == "none"
    f.log_in(client, "rider1")
    page = client.get(f"/reports/{report.id}")
    assert page.status_code == 200 and "新民街 12 号" in page.get_data(as_text=True)
