"""Open311 GeoReport v2: discovery, services, filing and querying requests, errors, in JSON and XML."""

import re
from datetime import timedelta, timezone

import pytest

from app.extensions import db
from app.models import Report, ReportEvent, utcnow
from tests import factories as f
from tests.open311_checks import as_text, check_xml, parse_xml, tags, validate

V2 = "/open311/v2"
HERE = f.QIANWEI


@pytest.fixture(autouse=True)
def english(client):
    """Messages are checked in English; without Accept-Language the server answers in Chinese."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def key(app):
    """A rider's personal API token."""
    return f.api_token(f.make_user("rider1", display_name="Zhang San Rider", phone="13800138000"))


def post(client, key, fmt="json", **data):
    form = {
        "api_key": key,
        "service_code": "road_damage",
        "lat": str(HERE[0]),
        "long": str(HERE[1]),
        "description": "Pothole in front of the school gate",
    }
    form.update(data)
    form = {k: v for k, v in form.items() if v is not None}
    return client.post(f"{V2}/requests.{fmt}", data=form)


def filed(client, key, **data) -> Report:
    r = post(client, key, **data)
    assert r.status_code == 200, r.get_data(as_text=True)
    return db.session.scalar(db.select(Report).where(Report.reference == r.get_json()[0]["service_request_id"]))


def test_discovery_names_the_v2_endpoint_in_both_formats(client):
    data = client.get("/open311/discovery.json").get_json()
    assert data["endpoints"][0]["url"] == "http://localhost/open311/v2"
    assert data["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(data["endpoints"][0]["formats"]) == {"text/xml", "application/json"}
    root = check_xml(client.get("/open311/discovery.xml"), "discovery")
    assert root.find("endpoints/endpoint/url").text == data["endpoints"][0]["url"]
    assert "/profile" in root.find("key_service").text


def test_service_list_has_every_category_and_validates(client):
    data = client.get(f"{V2}/services.json").get_json()
    validate("services.json", data)
    codes = [s["service_code"] for s in data]
    assert codes[:3] == ["elevator_hazard", "fire_lane_blocked", "manhole_missing"]  # hazards first
    assert {"illegal_parking", "noise", "other"} <= set(codes)
    assert all(s["metadata"] is True and s["type"] == "realtime" for s in data)
    root = check_xml(client.get(f"{V2}/services.xml"), "services")
    assert [s.findtext("service_code") for s in root] == codes
    for s, js in zip(root, data, strict=False):
        assert [e.text or "" for e in s] == [as_text(js[k]) for k in tags(s)]


def test_service_names_follow_locale_then_accept_language(client):
    by_param = client.get(f"{V2}/services.json?locale=en").get_json()
    assert by_param[0]["service_name"] == "Elevator safety hazard"
    by_header = client.get(f"{V2}/services.json", headers={"Accept-Language": "en-US,en;q=0.9"}).get_json()
    assert by_header[0]["service_name"] == "Elevator safety hazard"
    chinese = client.get(f"{V2}/services.xml?locale=zh-CN", headers={"Accept-Language": "en"})
    assert check_xml(chinese, "services")[0].findtext("service_name") == "电梯安全隐患"


def test_service_definition_asks_whether_anyone_is_in_danger(client):
    data = client.get(f"{V2}/services/elevator_hazard.json?locale=en").get_json()
    validate("service-definition.json", data)
    assert data["service_code"] == "elevator_hazard"
    codes = [a["code"] for a in data["attributes"]]
    assert {"danger", "building", "unit", "lift_number"} <= set(codes)
    danger = next(a for a in data["attributes"] if a["code"] == "danger")
    assert danger["datatype"] == "singlevaluelist" and danger["required"] is True
    assert danger["description"] == "Is anyone in danger now?"
    assert [v["key"] for v in danger["values"]] == ["yes", "no", "unknown"]
    assert [a["order"] for a in data["attributes"]] == list(range(1, len(codes) + 1))
    root = check_xml(client.get(f"{V2}/services/elevator_hazard.xml?locale=en"), "service_definition")
    assert [a.findtext("code") for a in root.find("attributes")] == codes


def test_every_service_definition_validates(client):
    for service in client.get(f"{V2}/services.json").get_json():
        code = service["service_code"]
        validate("service-definition.json", client.get(f"{V2}/services/{code}.json").get_json())
        check_xml(client.get(f"{V2}/services/{code}.xml"), "service_definition")


def test_unknown_service_definition_is_404_in_the_spec_error_format(client):
    r = client.get(f"{V2}/services/no_such_thing.json")
    assert r.status_code == 404
    assert r.get_json()[0]["code"] == 404 and "no_such_thing" in r.get_json()[0]["description"]
    r = client.get(f"{V2}/services/no_such_thing.xml")
    assert r.status_code == 404 and check_xml(r, "errors")[0].findtext("code") == "404"


def test_post_with_a_good_key_files_a_report_with_attributes_and_private_contact(app, client, key):
    r = post(
        client,
        key,
        service_code="elevator_hazard",
        **{
            "attribute[danger]": "yes",
            "attribute[building]": "3栋",
            "attribute[unit]": "2单元",
            "attribute[lift_number]": "L2",
            "attribute[not_ours]": "ignored",
            "email": "zs@example.com",
            "first_name": "San",
            "last_name": "Zhang",
            "phone": "13900139000",
            "device_id": "dev-1",
            "account_id": "acct-7",
        },
    )
    assert r.status_code == 200
    body = r.get_json()
    assert re.fullmatch(r"GS-\d{4}-\d{6}", body[0]["service_request_id"])
    assert body[0]["account_id"] == "acct-7" and "2 hours" in body[0]["service_notice"]
    report = db.session.scalar(db.select(Report).where(Report.reference == body[0]["service_request_id"]))
    assert report.source == "open311" and report.status == "submitted" and report.photos == []
    assert report.category.code == "elevator_hazard" and report.building == "3栋 2单元 L2"
    assert report.attributes == {"danger": "yes", "building": "3栋", "unit": "2单元", "lift_number": "L2"}
    assert report.contact == {
        "email": "zs@example.com",
        "first_name": "San",
        "last_name": "Zhang",
        "phone": "13900139000",
        "device_id": "dev-1",
        "account_id": "acct-7",
    }
    assert (report.lat, report.lon) == HERE and report.user.username == "rider1"


def test_post_answers_the_spec_xml_document(client, key):
    root = check_xml(post(client, key, fmt="xml"), "posted")
    assert root[0].findtext("service_request_id").startswith("GS-")
    assert root[0].findtext("account_id") == ""


def test_filed_request_appears_on_the_triage_board_page(app, client, key):
    report = filed(client, key)
    f.make_user("coord", role="coordinator")
    f.log_in(client, "coord")
    board = client.get("/board")
    assert board.status_code == 200 and report.reference in board.get_data(as_text=True)


def test_filed_request_appears_on_the_triage_list_and_in_get_requests(app, client, key):
    report = filed(client, key)
    coordinator = f.api_token(f.make_user("coord", role="coordinator"))
    staff = client.get("/api/v1/reports", headers={"Authorization": f"Bearer {coordinator}"}).get_json()
    assert report.reference in [item["reference"] for item in staff["items"]]
    listed = client.get(f"{V2}/requests.json").get_json()
    validate("requests.json", listed)
    assert [x["service_request_id"] for x in listed] == [report.reference]
    assert listed[0]["status"] == "open" and listed[0]["service_code"] == "road_damage"
    assert listed[0]["lat"] == HERE[0] and listed[0]["long"] == HERE[1]


def test_post_without_a_valid_key_is_403(client, key):
    for api_key in (None, "", "gs_not-a-real-token"):
        r = post(client, api_key, fmt="json")
        assert r.status_code == 403, api_key
        assert r.get_json()[0]["code"] == 403 and "api_key" in r.get_json()[0]["description"]
        r = post(client, api_key, fmt="xml")
        assert r.status_code == 403 and check_xml(r, "errors")[0].findtext("code") == "403"
    assert db.session.scalar(db.select(db.func.count()).select_from(Report)) == 0


def test_revoked_token_and_disabled_account_are_403(app, client):
    from app.auth.services import revoke_token, user_tokens

    u = f.make_user("rider2")
    plain = f.api_token(u)
    revoke_token(u, user_tokens(u)[0].id)
    db.session.commit()
    assert post(client, plain).status_code == 403
    other = f.make_user("rider3")
    plain = f.api_token(other)
    other.active = False
    db.session.commit()
    assert post(client, plain).status_code == 403


def test_post_without_a_location_is_400(client, key):
    r = post(client, key, lat=None, long=None)
    assert r.status_code == 400 and "lat and long" in r.get_json()[0]["description"]
    r = post(client, key, fmt="xml", lat=None, long=None)
    assert r.status_code == 400 and "lat and long" in check_xml(r, "errors")[0].findtext("description")


class FakeLocator:
    """A geocoder faked at the interface: knows one address."""

    available = True

    def locate(self, address):
        return HERE if address == "Xinmin Street 12, Qianwei" else None


def test_address_is_geocoded_when_a_geocoder_is_configured(app, client, key):
    app.extensions["address_locator"] = FakeLocator()
    report = filed(client, key, lat=None, long=None, address_string="Xinmin Street 12, Qianwei")
    assert (report.lat, report.lon) == HERE and report.location_source == "address"
    assert report.address == "Xinmin Street 12, Qianwei"


class FakeReverseGeocoder:
    """A reverse geocoder faked at the interface."""

    def address(self, lat, lon, language="zh"):
        return "犍为县玉津镇新民街" if (lat, lon) == HERE else None


def test_address_comes_from_the_reverse_geocoder_when_one_is_configured(app, client, key, monkeypatch):
    from app.reports import addresses

    app.extensions["geocoder"] = FakeReverseGeocoder()
    monkeypatch.setattr(addresses, "lookup_address_later", addresses.fill_address)  # at once, not in a thread
    report = filed(client, key)
    item = client.get(f"{V2}/requests/{report.reference}.json").get_json()[0]
    assert item["address"] == "犍为县玉津镇新民街"


BAD_POSTS = [
    ({"service_code": ""}, "service_code is required"),
    ({"lat": "95", "long": "103"}, "in range"),
    ({"lat": "29.2", "long": None}, "both lat and long"),
    ({"service_code": "fire_lane_blocked"}, "attribute[danger] is required"),
    ({"service_code": "fire_lane_blocked", "attribute[danger]": "maybe"}, "must be one of"),
    ({"service_code": "noise", "attribute[building]": "x" * 31}, "at most 30"),
    ({"description": "x" * 4001}, "at most 4000"),
    ({"media_url": "file:///etc/passwd"}, "media_url"),
    ({"email": "a" * 201}, "email is too long"),
]


def test_bad_post_parameters_are_400_with_a_clear_message(client, key):
    for data, words in BAD_POSTS:
        r = post(client, key, **data)
        assert r.status_code == 400, data
        assert words in r.get_json()[0]["description"], (data, r.get_json())
    assert db.session.scalar(db.select(db.func.count()).select_from(Report)) == 0


def test_description_of_4000_characters_is_accepted(client, key):
    assert len(filed(client, key, description="长" * 4000).description) == 4000


def test_uploaded_media_goes_through_the_photo_pipeline(app, client, key):
    from io import BytesIO

    r = client.post(
        f"{V2}/requests.json",
        content_type="multipart/form-data",
        data={
            "api_key": key,
            "service_code": "garbage",
            "lat": "29.21",
            "long": "103.95",
            "media": (BytesIO(f.jpeg(2400, 1200)), "photo.jpg"),
        },
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    report = db.session.scalar(db.select(Report))
    assert len(report.photos) == 1 and max(report.photos[0].width, report.photos[0].height) <= 1600
    bad = client.post(
        f"{V2}/requests.xml",
        content_type="multipart/form-data",
        data={
            "api_key": key,
            "service_code": "garbage",
            "lat": "29.21",
            "long": "103.95",
            "media": (BytesIO(b"not an image at all"), "photo.jpg"),
        },
    )
    assert bad.status_code in (400, 415)
    check_xml(bad, "errors")


def test_fixmystreets_photo_uploads_are_kept(app, client, key):
    """FixMyStreet's Open311.pm sends a private report's photos as photo1, photo2, ... (multipart), with no
    media_url (_add_photos_to_upload): they were silently dropped."""
    from io import BytesIO

    def send(**files):
        form = {"api_key": key, "service_code": "garbage", "lat": "29.21", "long": "103.95", "first_name": "Li"}
        for name, (w, h) in files.items():
            form[name] = (BytesIO(f.jpeg(w, h)), f"{name}.jpeg")
        return client.post(f"{V2}/requests.xml", content_type="multipart/form-data", data=form)

    r = send(photo2=(300, 200), photo1=(200, 300))
    assert r.status_code == 200, r.get_data(as_text=True)
    report = db.session.scalar(
        db.select(Report).where(Report.reference == parse_xml(r)[0].findtext("service_request_id"))
    )
    assert [(p.width, p.height) for p in sorted(report.photos, key=lambda p: p.id)] == [(200, 300), (300, 200)]
    too_many = send(**{f"photo{n}": (100, 100) for n in range(1, app.config["MAX_PHOTOS"] + 2)})
    assert too_many.status_code == 400 and "At most" in parse_xml(too_many)[0].findtext("description")


def test_media_url_is_kept_but_not_fetched(client, key):
    report = filed(client, key, media_url="https://example.org/p/1.jpg")
    assert report.attributes["media_url"] == "https://example.org/p/1.jpg" and report.photos == []


def test_idempotency_key_returns_the_first_request(client, key):
    first = client.post(
        f"{V2}/requests.json",
        headers={"Idempotency-Key": "abc-1"},
        data={"api_key": key, "service_code": "noise", "lat": "29.2", "long": "103.9"},
    )
    again = client.post(
        f"{V2}/requests.json",
        headers={"Idempotency-Key": "abc-1"},
        data={"api_key": key, "service_code": "noise", "lat": "29.2", "long": "103.9"},
    )
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json()
    assert db.session.scalar(db.select(db.func.count()).select_from(Report)) == 1


def test_idempotency_key_belongs_to_one_user_and_works_in_xml(client, key):
    form = {"service_code": "noise", "lat": "29.2", "long": "103.9"}
    first = client.post(f"{V2}/requests.xml", headers={"Idempotency-Key": "k-9"}, data={"api_key": key, **form})
    again = client.post(f"{V2}/requests.xml", headers={"Idempotency-Key": "k-9"}, data={"api_key": key, **form})
    mine = check_xml(first, "posted")[0].findtext("service_request_id")
    assert check_xml(again, "posted")[0].findtext("service_request_id") == mine
    other = f.api_token(f.make_user("rider8"))
    theirs = client.post(
        f"{V2}/requests.json", headers={"Idempotency-Key": "k-9"}, data={"api_key": other, **form}
    ).get_json()[0]["service_request_id"]
    assert theirs != mine
    assert db.session.scalar(db.select(db.func.count()).select_from(Report)) == 2


def test_posts_are_rate_limited_per_api_key(app, client, key):
    app.config["OPEN311_RATE_LIMIT"] = "2 per minute"
    other = f.api_token(f.make_user("rider9"))
    assert [post(client, key).status_code for _ in range(3)] == [200, 200, 429]
    limited = post(client, key, fmt="xml")
    assert limited.status_code == 429 and check_xml(limited, "errors")[0].findtext("code") == "429"
    assert post(client, other).status_code == 200  # another key has its own budget


def make_reports(rider):
    """Three reports: open road damage, closed noise (not the council's: with notes), and one from 120 days ago."""
    now = utcnow()
    road = f.file_report(rider, category="road_damage", description="Pothole")
    noise = f.file_report(rider, category="noise", lat=29.5, lon=104.2, description="Loud at night")
    old = f.file_report(rider, category="road_damage", description="Old one")
    old.created_at = now - timedelta(days=120)
    coord = f.make_user("coord", role="coordinator")
    db.session.add_all(
        [
            ReportEvent(
                report=noise,
                actor=coord,
                kind="transition",
                from_status="resolved",
                to_status="closed",
                note="Not a public space: private dispute.",
                created_at=now,
            ),
            ReportEvent(
                report=noise,
                actor=coord,
                kind="comment",
                note="internal: call back later",
                internal=True,
                created_at=now + timedelta(seconds=1),
            ),
            ReportEvent(
                report=noise,
                actor=rider,
                kind="comment",
                note="My phone is 13800138000",
                created_at=now + timedelta(seconds=2),
            ),
        ]
    )
    noise.status, noise.outcome = "closed", "not_responsible"
    db.session.commit()
    return road, noise, old


def refs(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    validate("requests.json", data)
    return [x["service_request_id"] for x in data]


def test_get_requests_filters_by_status_code_dates_ids_and_bbox(app, client):
    road, noise, old = make_reports(f.make_user("rider1"))
    assert refs(client.get(f"{V2}/requests.json")) == [noise.reference, road.reference]  # last 90 days
    assert refs(client.get(f"{V2}/requests.json?status=open")) == [road.reference]
    assert refs(client.get(f"{V2}/requests.json?status=closed")) == [noise.reference]
    assert refs(client.get(f"{V2}/requests.json?status=open,closed")) == [noise.reference, road.reference]
    assert refs(client.get(f"{V2}/requests.json?service_code=noise,garbage")) == [noise.reference]
    start = (utcnow() - timedelta(days=130)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (utcnow() - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert refs(client.get(f"{V2}/requests.json", query_string={"start_date": start, "end_date": end})) == [
        old.reference
    ]
    assert refs(
        client.get(
            f"{V2}/requests.json", query_string={"service_request_id": f"{old.reference},{road.reference},GS-1-1"}
        )
    ) == [road.reference, old.reference]
    assert refs(client.get(f"{V2}/requests.json?bbox=104.0,29.4,104.3,29.6")) == [noise.reference]
    assert refs(client.get(f"{V2}/requests.json?page_size=1&page=2")) == [road.reference]
    assert refs(client.get(f"{V2}/requests.json?page=3&page_size=1")) == []


BAD_QUERIES = [
    ("start_date=2026-01-01T00:00:00Z&end_date=2026-05-01T00:00:00Z", "at most 90 days"),
    ("start_date=2026-05-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", "before start_date"),
    ("start_date=yesterday", "start_date must be a w3 date"),
    ("status=pending", "status must be"),
    ("bbox=1,2,3", "bbox"),
    ("bbox=104,29,103,30", "bbox"),
    ("page=0", "page must be"),
    ("page_size=1001", "page_size must be"),
]


def test_bad_get_requests_parameters_are_400(client):
    for query, words in BAD_QUERIES:
        r = client.get(f"{V2}/requests.json?{query}")
        assert r.status_code == 400, query
        assert words in r.get_json()[0]["description"], query
        r = client.get(f"{V2}/requests.xml?{query}")
        assert r.status_code == 400, query
        assert words in check_xml(r, "errors")[0].findtext("description"), query


def test_request_maps_status_notes_agency_deadline_and_hides_the_rider(app, client):
    road, noise, _old = make_reports(f.make_user("rider1", display_name="Zhang San Rider", phone="13800138000"))
    r = client.get(f"{V2}/requests/{noise.reference}.json?locale=en")
    data = r.get_json()
    validate("requests.json", data)
    (item,) = data
    assert item["status"] == "closed" and item["service_name"] == "Noise nuisance"
    assert item["status_notes"] == "Not a public space: private dispute."  # not internal, not the rider's
    assert item["agency_responsible"] == "Environment bureau" and item["expected_datetime"] is None
    assert item["media_url"] is None
    road_item = client.get(f"{V2}/requests/{road.reference}.json?locale=zh-CN").get_json()[0]
    assert road_item["status_notes"] is None and road_item["agency_responsible"] == "住建局市政所"
    assert road_item["expected_datetime"].endswith("+08:00")
    for fmt in ("json", "xml"):
        text = client.get(f"{V2}/requests.{fmt}").get_data(as_text=True)
        for private in ("rider1", "Zhang San Rider", "13800138000", "call back later"):
            assert private not in text


def test_single_request_in_xml_and_unknown_request_is_404(app, client):
    road, _noise, _old = make_reports(f.make_user("rider1"))
    root = check_xml(client.get(f"{V2}/requests/{road.reference}.xml"), "requests")
    js = client.get(f"{V2}/requests/{road.reference}.json").get_json()[0]
    assert [e.text or "" for e in root[0]] == [as_text(js[k]) for k in tags(root[0])]
    assert client.get(f"{V2}/requests/GS-2000-999999.json").status_code == 404
    check_xml(client.get(f"{V2}/requests/GS-2000-999999.xml"), "errors")


def test_errors_are_in_the_request_language(client, key):
    del client.environ_base["HTTP_ACCEPT_LANGUAGE"]
    chinese = post(client, key, lat=None, long=None).get_json()[0]["description"]
    english = post(client, key, lat=None, long=None, locale="en").get_json()[0]["description"]
    assert english == "A location is required: send lat and long, or address_string."
    assert chinese != english and re.search("[\u4e00-\u9fff]", chinese)


def test_tokens_are_404_with_a_clear_message(client):
    r = client.get(f"{V2}/tokens/12345.json")
    assert r.status_code == 404 and "no tokens" in r.get_json()[0]["description"]
    check_xml(client.get(f"{V2}/tokens/12345.xml"), "errors")


def test_control_characters_never_break_the_xml(client, key):
    filed(client, key, description="bad \x01 byte\x0b and a bell \x07 end")
    root = check_xml(client.get(f"{V2}/requests.xml"), "requests")
    assert root[0].findtext("description") == "bad  byte and a bell  end"
    validate("requests.json", client.get(f"{V2}/requests.json").get_json())


def test_media_is_public_only_when_switched_on(app, client):
    rider = f.make_user("rider1")
    report = f.file_report(rider)
    photo_id = report.photos[0].id
    assert client.get(f"{V2}/requests.json").get_json()[0]["media_url"] is None
    assert client.get(f"/open311/media/{photo_id}.jpg").status_code == 404
    app.config["OPEN311_PUBLIC_MEDIA"] = True
    data = client.get(f"{V2}/requests.json").get_json()
    validate("requests.json", data)
    assert data[0]["media_url"] == f"http://localhost/open311/media/{photo_id}.jpg"
    image = client.get(f"/open311/media/{photo_id}.jpg")
    assert image.status_code == 200 and image.content_type == "image/jpeg"
    assert image.get_data()[:2] == b"\xff\xd8"


def rejected_and_submitted(rider):
    """A report rejected as not real (with the coordinator's reason), and one still waiting for a look."""
    fake = f.file_report(rider, description="The neighbour's car again, I want it towed")
    waiting = f.file_report(rider, description="Pothole in front of the school gate")
    coord = f.make_user("coord", role="coordinator")
    db.session.add(
        ReportEvent(
            report=fake,
            actor=coord,
            kind="transition",
            from_status="submitted",
            to_status="rejected",
            note="Not real: a private quarrel over parking.",
            created_at=utcnow(),
        )
    )
    fake.status = "rejected"
    db.session.commit()
    return fake, waiting


def test_rejected_reports_are_left_out_of_the_public_feed(app, client):
    app.config["OPEN311_PUBLIC_MEDIA"] = True
    fake, waiting = rejected_and_submitted(f.make_user("rider1"))
    for fmt in ("json", "xml"):
        text = client.get(f"{V2}/requests.{fmt}").get_data(as_text=True)
        assert waiting.reference in text  # submitted: visible, clients fetch what they just posted
        assert fake.reference not in text and "neighbour" not in text and "private quarrel" not in text
    assert refs(client.get(f"{V2}/requests.json?status=closed")) == []
    asked = {"service_request_id": f"{fake.reference},{waiting.reference}"}
    assert refs(client.get(f"{V2}/requests.json", query_string=asked)) == [waiting.reference]
    assert client.get(f"{V2}/requests/{fake.reference}.json").status_code == 404
    check_xml(client.get(f"{V2}/requests/{fake.reference}.xml"), "errors")
    assert client.get(f"{V2}/requests/{waiting.reference}.json").status_code == 200
    assert client.get(f"/open311/media/{fake.photos[0].id}.jpg").status_code == 404  # only reports shown
    assert client.get(f"/open311/media/{waiting.photos[0].id}.jpg").status_code == 200


def test_rejected_reports_are_published_when_switched_on(app, client):
    app.config.update(OPEN311_INCLUDE_REJECTED=True, OPEN311_PUBLIC_MEDIA=True)
    fake, waiting = rejected_and_submitted(f.make_user("rider1"))
    assert refs(client.get(f"{V2}/requests.json?status=closed")) == [fake.reference]
    item = client.get(f"{V2}/requests/{fake.reference}.json").get_json()[0]
    assert item["status_notes"] == "Not real: a private quarrel over parking."
    assert client.get(f"/open311/media/{fake.photos[0].id}.jpg").status_code == 200


def test_reads_are_rate_limited_per_address(app, client):
    app.config["OPEN311_READ_RATE_LIMIT"] = "4 per minute"
    photo = f.file_report(f.make_user("rider1")).photos[0]
    reads = ["/open311/discovery.json", f"{V2}/services.json", f"{V2}/services/road_damage.xml", f"{V2}/requests.json"]
    assert [client.get(path).status_code for path in reads] == [200] * 4
    for path in (f"{V2}/requests.xml", f"/open311/media/{photo.id}.jpg", f"{V2}/tokens/x.json"):
        limited = client.get(path)
        assert limited.status_code == 429 and 0 < int(limited.headers["Retry-After"]) <= 61, path
    check_xml(client.get(f"{V2}/requests.xml"), "errors")
    elsewhere = client.get(f"{V2}/requests.json", environ_base={"REMOTE_ADDR": "10.2.3.4"})
    assert elsewhere.status_code == 200  # another address has its own budget


STATUS_MAP = {
    "submitted": "open",
    "accepted": "open",
    "assigned": "open",
    "in_progress": "open",
    "resolved": "open",
    "closed": "closed",
    "rejected": "closed",
    "duplicate": "closed",
}


def test_every_workflow_status_maps_to_open_or_closed(app, client):
    from app.triage.workflow import Status

    app.config["OPEN311_INCLUDE_REJECTED"] = True  # rejected reports are left out by default (tested below)
    assert set(STATUS_MAP) == {s.value for s in Status}
    report = f.file_report(f.make_user("rider1"))
    for status, expected in STATUS_MAP.items():
        report.status = status
        db.session.commit()
        assert client.get(f"{V2}/requests/{report.reference}.json").get_json()[0]["status"] == expected, status
        assert refs(client.get(f"{V2}/requests.json?status={expected}")) == [report.reference], status
        other = "closed" if expected == "open" else "open"
        assert refs(client.get(f"{V2}/requests.json?status={other}")) == [], status


def test_status_notes_is_the_latest_public_note(app, client):
    rider = f.make_user("rider1")
    report = f.file_report(rider)
    coord, handler = f.make_user("coord", role="coordinator"), f.make_user("hdl", role="handler")
    now = utcnow()
    db.session.add_all(
        [
            ReportEvent(report=report, actor=coord, kind="comment", note="Sent to the roads team.", created_at=now),
            ReportEvent(
                report=report,
                actor=handler,
                kind="comment",
                note="Crew booked for Monday.",
                created_at=now + timedelta(seconds=1),
            ),
            ReportEvent(
                report=report,
                actor=handler,
                kind="comment",
                note="Budget code 7781",
                internal=True,
                created_at=now + timedelta(seconds=2),
            ),
        ]
    )
    db.session.commit()
    item = client.get(f"{V2}/requests/{report.reference}.json").get_json()[0]
    assert item["status_notes"] == "Crew booked for Monday."


def test_odd_query_input_is_answered_not_a_server_error(client):
    road = filed(client, f.api_token(f.make_user("rider5")))
    # Open311 cleans NUL out of codes and ids (nothing matches); an unreadable date is a 400; dates at the
    # ends of the calendar are no bound at all.
    for query, status in (
        ("service_code=%00", 200),
        ("service_request_id=%00,GS-%00", 200),
        ("status=open&start_date=%00", 400),
        ("end_date=0001-01-01T00:00:00Z", 200),
        ("start_date=9999-12-31T00:00:00Z", 200),
    ):
        r = client.get(f"{V2}/requests.json?{query}")
        assert r.status_code == status, query
        if r.status_code == 200:
            validate("requests.json", r.get_json())
    assert client.get(f"{V2}/services/%00.json").status_code == 404
    assert client.get(f"{V2}/requests/%00.xml").status_code == 404
    check_xml(client.get(f"{V2}/requests/GS-%00.xml"), "errors")
    # An unencoded "+" in the offset arrives as a space; it still means +08:00.
    start = road.created_at.astimezone(timezone(timedelta(hours=8))) - timedelta(minutes=1)
    assert refs(client.get(f"{V2}/requests.json?start_date=" + start.strftime("%Y-%m-%dT%H:%M:%S+08:00"))) == [
        road.reference
    ]


def test_control_characters_in_posted_fields_are_dropped(client, key):
    report = filed(
        client,
        key,
        service_code="road_damage\x00",
        email="zs@example.org\x00",
        address_string="Xinmin\x00 Street",
        **{"attribute[building]": "3\x00栋"},
    )
    assert report.category.code == "road_damage"
    assert report.contact == {"email": "zs@example.org"}
    assert report.address == "Xinmin Street" and report.attributes == {"building": "3栋"}
