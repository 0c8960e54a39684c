"""A location far from the service area in the browser (issue 19): the phone warns before sending, the report
is still sent and flagged, and the board map's automatic zoom leaves it out."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Report
from tests import factories as f
from tests.e2e.conftest import PHOTOS, log_in_page, offline_tiles, phone_context

pytestmark = pytest.mark.e2e

BEIJING = {"latitude": 39.9042, "longitude": 116.4074, "accuracy": 20}


def test_the_phone_warns_far_from_the_area_and_still_sends(browser, live):
    f.make_user("rider1", password=f.PASSWORD)
    db.session.commit()
    context = phone_context(browser, live.url)
    context.set_geolocation(BEIJING)  # a GPS fix from elsewhere
    page = context.new_page()
    offline_tiles(page)
    log_in_page(page, "rider1", f.PASSWORD)
    page.goto("/report")
    page.wait_for_selector("#area-warning:not([hidden])")
    assert "犍为县" in page.inner_text("#area-warning")
    page.set_input_files("#photo-input", PHOTOS + "noexif_hopper.jpg")
    page.wait_for_selector("#previews li img")
    page.click("label.tile:has(input[value=illegal_parking])")
    page.click("#submit")
    page.wait_for_selector(
        "#conf-reference-line:not([hidden])"
    )  # the server's answer (the phone frees the rider first)
    db.session.expire_all()
    report = db.session.scalar(select(Report))
    assert report.outside_area and round(report.lat, 2) == 39.90
    context.close()


def test_the_board_maps_zoom_leaves_out_a_point_outside_the_area(browser, live):
    rider = f.make_user("rider1")
    f.make_user("coord", "coordinator", password=f.PASSWORD)
    f.file_report(rider)
    f.file_report(rider, lat=BEIJING["latitude"], lon=BEIJING["longitude"])
    db.session.commit()
    context = browser.new_context(viewport={"width": 1366, "height": 800}, base_url=live.url, locale="en-US")
    page = context.new_page()
    offline_tiles(page)
    log_in_page(page, "coord", f.PASSWORD)
    page.goto("/board?view=map")
    page.wait_for_selector('#board-map[data-count="2"]')
    # Zoomed on Qianwei (not out to show Beijing 1,500 km away): the one point inside fills the view.
    visible = page.locator("#board-map .board-point").count()
    assert visible == 1, "the map zoomed out to show the point far away"
    context.close()
