"""The plain no-JavaScript form post of original photos (POST /report), and garbage that must never be a 500."""

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Report
from tests import factories as f

IPHONE6 = ("gps_iphone6_3264x2448.jpg", (40.446972, -3.724753))  # MANIFEST.tsv
IPHONE7_HEIC = ("gps_iphone7.heic", (38.046642, 12.994411))


@pytest.fixture
def rider_client(app, client):
    f.make_user("rider1")
    f.log_in(client, "rider1")
    return client


def form_token(client) -> str:
    return f.csrf_from(client.get("/report").get_data(as_text=True))


def form_post(client, photos, token=None, **fields):
    data = {"category": "road_damage", **{k: str(v) for k, v in fields.items()}}
    if token is not False:
        data["csrf_token"] = token or form_token(client)
    data["photos"] = [(io.BytesIO(blob), name) for name, blob in photos]
    return client.post("/report", data=data, content_type="multipart/form-data")


def only_report() -> Report:
    rows = list(db.session.scalars(select(Report)))
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("photo", [IPHONE6, IPHONE7_HEIC], ids=["iphone6-jpeg", "iphone7-heic"])
def test_original_phone_photo_without_coordinates_is_placed_by_its_exif_gps(rider_client, photo):
    name, (lat, lon) = photo
    response = form_post(rider_client, [(name, f.photo_fixture(name))], description="路面塌陷")
    assert response.status_code == 302, response.get_data(as_text=True)
    report = only_report()
    assert response.headers["Location"].endswith(f"/reports/{report.id}/filed")
    assert report.location_source == "exif"
    assert (report.lat, report.lon) == pytest.approx((lat, lon), abs=1e-5)
    assert report.description == "路面塌陷"
    assert [(p.width, p.height) for p in report.photos] == [(1600, 1200)]
    filed = rider_client.get(response.headers["Location"])
    assert filed.status_code == 200 and report.reference in filed.get_data(as_text=True)
    image = rider_client.get(f"/photos/{report.photos[0].id}/display.jpg")
    assert image.status_code == 200 and image.mimetype == "image/jpeg"


def test_form_post_with_coordinates_from_the_map_keeps_them(rider_client):
    name = IPHONE6[0]
    response = form_post(rider_client, [(name, f.photo_fixture(name))], lat=f.QIANWEI[0], lon=f.QIANWEI[1])
    assert response.status_code == 302
    report = only_report()
    assert (report.lat, report.lon) == pytest.approx(f.QIANWEI)
    assert report.location_source == "map"


def test_form_post_with_several_originals_stores_them_all(rider_client):
    photos = [(n, f.photo_fixture(n)) for n in ("gps_google_pixel.jpg", "orient_6.jpg", "hopper.png")]
    assert form_post(rider_client, photos).status_code == 302
    report = only_report()
    assert report.location_source == "exif"
    assert [(p.width, p.height) for p in report.photos] == [(1012, 759), (1600, 1067), (128, 128)]


def test_form_post_without_csrf_token_is_refused(rider_client):
    name = IPHONE6[0]
    response = form_post(rider_client, [(name, f.photo_fixture(name))], token=False)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Report)) == 0


def test_form_post_of_a_photo_without_gps_and_no_location_explains_why(rider_client):
    response = form_post(rider_client, [("hopper.jpg", f.photo_fixture("noexif_hopper.jpg"))])
    assert response.status_code == 400
    assert "location" in response.get_data(as_text=True).lower()
    assert db.session.scalar(select(func.count()).select_from(Report)) == 0


def test_anonymous_rider_is_sent_to_login_and_cannot_post(client, app):
    page = client.get("/report")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    # Without a session there is no CSRF token, so the post is refused before anything is read.
    response = client.post("/report", data={"category": "road_damage"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Report)) == 0
