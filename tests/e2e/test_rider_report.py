"""A rider on a phone: log in, take a photo, pick a category, send, see the reference, find it in My reports.

Headless Chromium, 390x844, geolocation granted at a fixed point (or refused, where the photo's
EXIF GPS places the report). Map tiles are answered locally so the test runs offline.
"""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Photo, Report
from tests import factories
from tests.e2e.conftest import PHOTOS, QIANWEI, SAMSUNG, log_in_page, offline_tiles

pytestmark = pytest.mark.e2e

# gps_nikon_coolpix_p6000.jpg carries GPS 43.4674483 N, 11.8851267 E (Tuscany) in its EXIF.
NIKON = PHOTOS + "gps_nikon_coolpix_p6000.jpg"
NIKON_GPS = (43.4674483, 11.8851267)


def rider(username="rider1"):
    u = factories.make_user(username, password=factories.PASSWORD, display_name="小王")
    db.session.commit()
    return u


def file_report_on_page(page, photo: str, category: str = "illegal_parking", description: str = "") -> str:
    page.goto("/report")
    page.set_input_files("#photo-input", photo)
    page.wait_for_selector("#previews li img")
    page.click(f"label.tile:has(input[value={category}])")
    if description:
        page.fill("textarea[name=description]", description)
    page.click("#submit")
    page.wait_for_selector("#conf-reference-line:not([hidden])")
    return page.inner_text("#conf-reference")


def test_rider_files_a_report_with_the_phones_location_and_finds_it_in_my_reports(phone, live):
    rider()
    offline_tiles(phone)
    log_in_page(phone, "rider1", factories.PASSWORD)
    phone.goto("/report")
    phone.wait_for_selector(".location-device")
    assert "12" in phone.inner_text("#location-status")  # the accuracy is shown
    reference = file_report_on_page(phone, SAMSUNG, "illegal_parking", "两辆车停在人行道上")
    assert re.fullmatch(r"GS-\d{4}-\d{6}", reference)
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d", phone.inner_text("#conf-time"))

    db.session.expire_all()
    report = db.session.scalar(select(Report).where(Report.reference == reference))
    assert report.location_source == "device"
    assert report.lat == pytest.approx(QIANWEI["latitude"], abs=1e-5)
    assert report.lon == pytest.approx(QIANWEI["longitude"], abs=1e-5)
    assert report.accuracy == pytest.approx(12, abs=1)
    assert report.description == "两辆车停在人行道上"
    assert report.captured_at is not None
    photo = db.session.scalar(select(Photo).where(Photo.report_id == report.id))
    assert max(photo.width, photo.height) <= 1600  # shrunk on the phone (the original is 4032 px)

    phone.click("#confirmation a[href$='/mine']")
    phone.wait_for_selector(f"[data-reference='{reference}']")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    assert phone.errors == []


def test_with_location_refused_the_photos_exif_gps_places_the_report(phone_no_geo, live):
    page = phone_no_geo
    rider()
    offline_tiles(page)
    log_in_page(page, "rider1", factories.PASSWORD)
    page.goto("/report")
    page.wait_for_selector(".location-none")
    reference = file_report_on_page(page, NIKON, "noise")
    db.session.expire_all()
    report = db.session.scalar(select(Report).where(Report.reference == reference))
    assert report.location_source == "exif"
    assert report.lat == pytest.approx(NIKON_GPS[0], abs=1e-5)
    assert report.lon == pytest.approx(NIKON_GPS[1], abs=1e-5)
    assert report.category.code == "noise"
    page.goto("/mine")
    page.wait_for_selector(f"[data-reference='{reference}']")
    assert page.errors == []


def test_without_any_location_the_rider_taps_the_map(phone_no_geo, live):
    page = phone_no_geo
    rider()
    offline_tiles(page)
    log_in_page(page, "rider1", factories.PASSWORD)
    page.goto("/report")
    page.set_input_files("#photo-input", PHOTOS + "noexif_hopper.jpg")
    page.wait_for_selector("#previews li img")
    page.click("label.tile:has(input[value=garbage])")
    page.click("#submit")
    assert page.is_visible("#form-error")  # no location yet: the page says so, nothing is sent
    assert db.session.scalar(select(db.func.count(Report.id))) == 0
    page.click("#map", position={"x": 120, "y": 100})
    page.wait_for_selector(".location-map")
    page.click("#submit")
    page.wait_for_selector("#conf-reference-line:not([hidden])")
    db.session.expire_all()
    report = db.session.scalar(select(Report))
    assert report.location_source == "map"
    assert report.accuracy is None
    assert page.errors == []


def test_report_page_fits_a_360px_phone_with_big_touch_targets(browser, live):
    from tests.e2e.conftest import phone_context

    rider()
    context = phone_context(browser, live.url, viewport={"width": 360, "height": 740})
    page = context.new_page()
    offline_tiles(page)
    log_in_page(page, "rider1", factories.PASSWORD)
    page.goto("/report")
    page.wait_for_selector("#map:not([hidden])")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    small = page.evaluate("""() => Array.from(document.querySelectorAll(
        '#report-form button, #report-form label.tile, #report-form label.button, header a'))
        .filter(e => e.offsetParent !== null)
        .map(e => [e.textContent.trim(), e.getBoundingClientRect().height])
        .filter(([t, h]) => h < 44)""")
    assert small == []
    context.close()


def test_rider_adds_a_photo_to_a_report_nearby_and_a_report_closed_meanwhile_is_refused(phone, live):
    """ "Already reported?": a report closed since the list was shown is refused with the server's reason and
    leaves the list; the rider joins the other and then sees its progress, not the first rider's words."""
    owner = factories.make_user("owner", display_name="老李")
    spot = (QIANWEI["latitude"], QIANWEI["longitude"])
    still_open = factories.file_report(owner, lat=spot[0], lon=spot[1], description="白色面包车 川L12345")
    closing = factories.file_report(owner, lat=spot[0] + 0.0002, lon=spot[1])
    rider()
    offline_tiles(phone)
    log_in_page(phone, "rider1", factories.PASSWORD)
    phone.goto("/report")
    phone.wait_for_selector(".location-device")
    phone.set_input_files("#photo-input", SAMSUNG)
    phone.wait_for_selector("#previews li img")
    phone.click("label.tile:has(input[value=illegal_parking])")
    phone.wait_for_selector(f"#nearby-list button[data-reference='{closing.reference}']")

    closing.status, closing.outcome = "closed", "fixed"  # a coordinator closes it meanwhile
    db.session.commit()
    phone.click(f"#nearby-list button[data-reference='{closing.reference}']")
    phone.wait_for_selector("#form-error:not([hidden])")
    assert "closed" in phone.inner_text("#form-error").lower() or "关闭" in phone.inner_text("#form-error")
    phone.wait_for_selector(f"#nearby-list button[data-reference='{closing.reference}']", state="detached")

    phone.click(f"#nearby-list button[data-reference='{still_open.reference}']")
    phone.wait_for_selector("#confirmation:not([hidden])")
    assert phone.inner_text("#conf-reference") == still_open.reference
    phone.goto(f"/reports/{still_open.id}")
    page = phone.content()
    assert still_open.reference in page and "川L12345" not in page and "老李" not in page
    assert [e for e in phone.errors if "409" not in e] == []  # Chromium logs the refused request itself
