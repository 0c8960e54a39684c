"""POST/GET /api/v1/reports through the test client: authentication, the JSON contract, refusals, no orphans."""

import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Photo, Report
from tests import factories as f

DOCUMENTED = {
    "id",
    "reference",
    "status",
    "category",
    "description",
    "lat",
    "lon",
    "accuracy",
    "location_source",
    "created_at",
    "photos",
}
GPS_PHOTO = "gps_nikon_coolpix_p6000.jpg"  # 43.467448 N, 11.885127 E (MANIFEST.tsv)


def multipart(photos=None, **fields):
    """A multipart body: photos as (bytes, filename) pairs or bytes, plus plain fields."""
    photos = [f.jpeg()] if photos is None else photos
    data = {k: str(v) for k, v in fields.items()}
    data["photos"] = [
        (io.BytesIO(p), "photo.jpg") if isinstance(p, bytes) else (io.BytesIO(p[0]), p[1]) for p in photos
    ]
    return data


def post_report(client, headers, photos=None, **fields):
    fields.setdefault("category", "illegal_parking")
    if "lat" not in fields and "lon" not in fields and fields.pop("use_location", True):
        for key, value in dict(lat=f.QIANWEI[0], lon=f.QIANWEI[1], accuracy=12, location_source="device").items():
            fields.setdefault(key, value)
    return client.post(
        "/api/v1/reports", data=multipart(photos, **fields), headers=headers, content_type="multipart/form-data"
    )


@pytest.fixture
def rider(app):
    return f.make_user("rider1")


@pytest.fixture
def auth(rider):
    return f.bearer(f.api_token(rider))


def error_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    assert body["error"]["message"] and isinstance(body["error"]["code"], str)
    return body["error"]


def report_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Report))


# Creating ---------------------------------------------------------------------------------------


def test_bearer_token_files_a_report_with_the_documented_json(client, auth):
    response = post_report(
        client,
        auth,
        photos=[f.jpeg(2000, 1500), f.jpeg(300, 400)],
        description="车挡住了消防通道",
        category="fire_lane_blocked",
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert DOCUMENTED <= set(body)
    assert response.headers["Location"].endswith(f"/api/v1/reports/{body['id']}")
    assert re.fullmatch(r"GS-\d{4}-\d{6}", body["reference"])
    filed_year = datetime.fromisoformat(body["created_at"]).astimezone(UTC).year
    assert body["reference"] == f"GS-{filed_year}-{body['id']:06d}"
    assert body["status"] == "submitted"
    assert body["category"] == "fire_lane_blocked"
    assert body["description"] == "车挡住了消防通道"
    assert (body["lat"], body["lon"]) == pytest.approx(f.QIANWEI)
    assert body["accuracy"] == 12 and body["location_source"] == "device"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", body["created_at"])
    assert datetime.fromisoformat(body["created_at"]).utcoffset().total_seconds() == 8 * 3600
    assert len(body["photos"]) == 2
    for photo in body["photos"]:
        assert {"url", "thumb_url", "width", "height"} <= set(photo)
    assert (body["photos"][0]["width"], body["photos"][0]["height"]) == (1600, 1200)
    assert (body["photos"][1]["width"], body["photos"][1]["height"]) == (300, 400)
    assert "contact" not in body


def test_session_cookie_with_csrf_header_files_a_report(client, rider):
    f.log_in(client, "rider1")
    token = f.csrf_from(client.get("/report").get_data(as_text=True))
    response = post_report(client, {"X-CSRFToken": token})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["status"] == "submitted"


def test_session_cookie_without_csrf_header_is_refused(client, rider):
    f.log_in(client, "rider1")
    response = post_report(client, {"Accept": "application/json"})
    assert error_of(response, 400)["code"] == "csrf"
    assert report_count() == 0


def test_anonymous_post_gets_401(client, app):
    response = post_report(client, {"Accept": "application/json", "X-CSRFToken": "x"})
    assert response.status_code in (400, 401)
    response = post_report(client, f.bearer("not-a-real-token"))
    assert error_of(response, 401)["code"] == "unauthorized"


def test_photo_urls_serve_jpegs_to_owner_and_staff_only(app, client, auth):
    body = post_report(client, auth).get_json()
    url, thumb_url = body["photos"][0]["url"], body["photos"][0]["thumb_url"]
    f.make_user("rider2")
    f.make_user("coord", role="coordinator")
    f.make_user("boss", role="admin")
    for name in ("rider1", "coord", "boss"):
        c = app.test_client()
        f.log_in(c, name)
        for u in (url, thumb_url):
            got = c.get(u)
            assert got.status_code == 200, (name, u)
            assert got.mimetype == "image/jpeg" and got.data[:3] == b"\xff\xd8\xff"
    other = app.test_client()
    f.log_in(other, "rider2")
    assert other.get(url).status_code == 403
    assert other.get(thumb_url).status_code == 403
    anonymous = app.test_client()
    assert anonymous.get(url, headers={"Accept": "application/json"}).status_code == 401
    redirect = anonymous.get(url)
    assert redirect.status_code == 302 and "/login" in redirect.headers["Location"]


def test_without_coordinates_the_first_photos_exif_gps_places_the_report(client, auth):
    response = post_report(client, auth, photos=[f.photo_fixture(GPS_PHOTO), f.jpeg()], use_location=False)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["location_source"] == "exif"
    assert (body["lat"], body["lon"]) == pytest.approx((43.467448, 11.885127), abs=1e-5)


def test_without_coordinates_or_exif_gps_is_400(client, auth):
    response = post_report(client, auth, photos=[f.jpeg()], use_location=False)
    assert error_of(response, 400)["code"] == "location_required"
    assert report_count() == 0


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"lat": 91, "lon": 103.9}, "invalid_location"),
        ({"lat": -90.5, "lon": 103.9}, "invalid_location"),
        ({"lat": 29.2, "lon": 180.01}, "invalid_location"),
        ({"lat": 29.2, "lon": -181}, "invalid_location"),
        ({"lat": "nan", "lon": 103.9}, "invalid_location"),
        ({"lat": "inf", "lon": 103.9}, "invalid_location"),
        ({"lat": 29.2}, "invalid_location"),
        ({"lat": "north", "lon": 103.9}, "invalid_number"),
        ({"category": "flying_saucer"}, "unknown_category"),
        ({"category": ""}, "unknown_category"),
        ({"description": "长" * 1001}, "description_too_long"),
        ({"accuracy": -5}, "invalid_accuracy"),
    ],
)
def test_invalid_fields_are_400_with_a_stable_code(client, auth, fields, code):
    fields = dict(fields)
    if "lat" in fields or "lon" in fields:
        fields.setdefault("use_location", False)
    response = post_report(client, auth, **fields)
    assert error_of(response, 400)["code"] == code
    assert report_count() == 0


def test_a_description_of_exactly_1000_characters_is_accepted(client, auth):
    assert post_report(client, auth, description="长" * 1000).status_code == 201


def test_more_than_four_photos_is_400(client, auth):
    response = post_report(client, auth, photos=[f.jpeg(40, 30)] * 5)
    assert error_of(response, 400)["code"] == "too_many_photos"
    assert report_count() == 0


def test_zero_photos_is_400(client, auth):
    response = post_report(client, auth, photos=[])
    assert error_of(response, 400)["code"] == "photo_required"


@pytest.mark.parametrize(
    "blob, status",
    [
        (b"%PDF-1.4\n%not a photo", 415),
        (f.photo_fixture("empty_0_bytes.jpg"), 400),
        (f.photo_fixture("truncated_small.jpg"), 400),
        (f.photo_fixture("lottapixel_64250x64250.jpg"), 400),
    ],
)
def test_bad_photo_files_get_the_right_status(client, auth, blob, status):
    # An empty part with a file name is still an uploaded (empty) photo.
    response = post_report(client, auth, photos=[(blob, "x.jpg")])
    error_of(response, status)
    assert report_count() == 0


def test_a_request_over_max_content_length_is_413(app, client, auth):
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    response = post_report(client, {**auth, "Accept": "application/json"}, photos=[b"\xff" * 60_000])
    assert error_of(response, 413)["code"] == "too_large"
    assert report_count() == 0


def test_a_corrupt_second_photo_leaves_no_file_and_no_report(app, client, auth):
    before = f.stored_keys()
    response = post_report(client, auth, photos=[f.jpeg(), f.photo_fixture("truncated_3484x2347.jpg")])
    assert error_of(response, 400)["code"] == "corrupt_photo"
    assert f.stored_keys() == before
    assert report_count() == 0
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 0


def test_a_database_failure_at_commit_leaves_no_orphan_file(app, client, auth, monkeypatch):
    from sqlalchemy.exc import OperationalError

    before = f.stored_keys()

    def broken_commit():
        raise OperationalError("COMMIT", {}, Exception("connection lost"))

    monkeypatch.setattr(db.session, "commit", broken_commit)
    response = post_report(client, auth)
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    monkeypatch.undo()
    assert f.stored_keys() == before
    db.session.remove()
    assert report_count() == 0


def test_stored_files_are_exactly_the_photos_of_the_report(app, client, auth):
    post_report(client, auth, photos=[f.jpeg(), f.jpeg(800, 600)])
    stored = f.stored_keys()
    keys = {k for p in db.session.scalars(select(Photo)) for k in (p.key, p.thumb_key)}
    assert set(stored) == keys and len(keys) == 4
    assert not any("photo.jpg" in k for k in stored)  # never the client's file name


def test_error_codes_do_not_depend_on_the_language(client, auth):
    codes, messages = set(), {}
    for lang in ("en", "zh-CN"):
        response = post_report(client, {**auth, "Accept-Language": lang}, category="nope")
        err = error_of(response, 400)
        codes.add(err["code"])
        messages[lang] = err["message"]
    assert codes == {"unknown_category"}
    assert messages["en"] == "Choose a category from the list."


# Reading ----------------------------------------------------------------------------------------


def test_get_report_for_owner_staff_and_not_another_rider(app, client, auth):
    report_id = post_report(client, auth).get_json()["id"]
    ok = client.get(f"/api/v1/reports/{report_id}", headers=auth)
    assert ok.status_code == 200 and ok.get_json()["id"] == report_id
    other = f.api_token(f.make_user("rider2"))
    assert error_of(client.get(f"/api/v1/reports/{report_id}", headers=f.bearer(other)), 403)
    coordinator = f.api_token(f.make_user("coord", role="coordinator"))
    assert client.get(f"/api/v1/reports/{report_id}", headers=f.bearer(coordinator)).status_code == 200
    assert error_of(client.get("/api/v1/reports/999999", headers=auth), 404)
    assert error_of(client.get(f"/api/v1/reports/{report_id}", headers={"Accept": "application/json"}), 401)


def test_my_reports_are_paginated_newest_first_and_only_mine(app, client, auth, rider):
    ids = [post_report(client, auth, description=f"n{i}").get_json()["id"] for i in range(3)]
    f.file_report(f.make_user("rider2"))
    page1 = client.get("/api/v1/reports?mine=1&per_page=2", headers=auth).get_json()
    assert page1["total"] == 3 and page1["page"] == 1 and page1["per_page"] == 2
    assert [r["id"] for r in page1["items"]] == [ids[2], ids[1]]
    page2 = client.get("/api/v1/reports?mine=1&per_page=2&page=2", headers=auth).get_json()
    assert [r["id"] for r in page2["items"]] == [ids[0]]
    page3 = client.get("/api/v1/reports?mine=1&per_page=2&page=3", headers=auth).get_json()
    assert page3["items"] == [] and page3["total"] == 3


@pytest.mark.parametrize(
    "query",
    ["page=0", "page=-1", "page=abc", "per_page=0", "per_page=101", "per_page=1.5", "page=99999999999999999999999"],
)
def test_bad_pagination_is_400(client, auth, query):
    response = client.get(f"/api/v1/reports?mine=1&{query}", headers=auth)
    error_of(response, 400)


# Never a 500 ------------------------------------------------------------------------------------

GARBAGE = [
    "",
    " ",
    "null",
    "NaN",
    "-inf",
    "1e999",
    "-0",
    "0x1p3",
    "9" * 400,
    "\x00",
    "a\x00b",
    "%00",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "🚲" * 2000,
    "\u202e\u200b",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-12:00",
    "2026-13-45T99:99",
    "[]",
    "{}",
    "true",
]
FIELDS = ["category", "description", "lat", "lon", "accuracy", "location_source", "building", "captured_at"]


def assert_refused_or_filed(response):
    assert response.status_code in (200, 201, 400, 403, 413, 415), response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        error_of(response, response.status_code)


@pytest.mark.parametrize("field", FIELDS)
def test_garbage_in_any_field_is_never_a_500(client, auth, field):
    for value in GARBAGE:
        fields = {field: value}
        if field in ("lat", "lon"):
            fields.setdefault("lon" if field == "lat" else "lat", 100.0 if field == "lat" else 29.0)
        assert_refused_or_filed(post_report(client, auth, **fields))


def test_garbage_everywhere_at_once_is_never_a_500(client, auth):
    for value in GARBAGE:
        fields = {name: value for name in FIELDS}
        photos = [(value.encode("utf-8", "surrogatepass")[:64] or b"\x00", value[:40] or "x"), f.jpeg(8, 8)]
        response = post_report(client, {**auth, "Idempotency-Key": value[:300] or "k"}, photos=photos, **fields)
        assert_refused_or_filed(response)


def test_raw_multipart_with_invalid_utf8_and_odd_parts_is_never_a_500(client, auth):
    boundary = "gsBOUNDARY"
    parts = [
        b'Content-Disposition: form-data; name="category"\r\n\r\n\xff\xfe\xc3(',
        b'Content-Disposition: form-data; name="description"\r\n\r\n\xed\xa0\x80 lone surrogate',
        b'Content-Disposition: form-data; name="lat"\r\n\r\n\x00\x00',
        b'Content-Disposition: form-data; name="lon"\r\n\r\n29',
        b'Content-Disposition: form-data; name="photos"\r\n\r\nnot a file at all',
        b'Content-Disposition: form-data; name="photos"; filename="\xff\xfe.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + f.jpeg(16, 16),
        b'Content-Disposition: form-data; name="photos"; filename="../../etc/passwd"\r\n'
        b"Content-Type: text/plain\r\n\r\nroot:x:0:0",
    ]
    body = (
        b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
        + b"--"
        + boundary.encode()
        + b"--\r\n"
    )
    response = client.post(
        "/api/v1/reports", data=body, headers=auth, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert_refused_or_filed(response)
    # A body that is not multipart at all, or is cut off mid-part.
    for raw, ctype in (
        (b"lat=1&lon=2&category=noise", "application/x-www-form-urlencoded"),
        (b'{"category": "noise"}', "application/json"),
        (body[: len(body) // 2], f"multipart/form-data; boundary={boundary}"),
        (body, "multipart/form-data"),
        (b"\x00" * 1000, "application/octet-stream"),
    ):
        assert_refused_or_filed(client.post("/api/v1/reports", data=raw, headers=auth, content_type=ctype))
    assert f.stored_keys() == sorted(k for p in db.session.scalars(select(Photo)) for k in (p.key, p.thumb_key))
