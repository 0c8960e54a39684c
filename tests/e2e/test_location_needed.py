"""A report filed without a pin ("location needed"): the coordinator finds it on the board, taps the map
on its page and sets the pin; the report then has its place on the board's map."""

import pytest

from app.extensions import db
from app.models import Report
from tests import factories as f
from tests.e2e.conftest import log_in_page
from tests.e2e.test_triage_flow import desktop

pytestmark = pytest.mark.e2e


def test_coordinator_taps_the_map_to_set_a_missing_pin(browser, live):
    rider = f.make_user("rider", password=f.PASSWORD)
    f.make_user("coord", "coordinator", password=f.PASSWORD)
    report = f.file_report(
        rider, lat=None, lon=None, photos=[], require_photo=False, location_needed=True, address="新民街 12 号"
    )
    report_id, reference = report.id, report.reference
    db.session.commit()

    context, page = desktop(browser, live)
    log_in_page(page, "coord", f.PASSWORD)
    page.goto("/board")
    row = page.locator("tr", has=page.locator(f"text={reference}"))
    assert "Location needed" in row.inner_text()
    page.click(f"text={reference}")
    assert "新民街 12 号" in page.locator(".detail").inner_text()
    pin_map = page.locator("#pin-map")
    pin_map.wait_for()
    pin_map.scroll_into_view_if_needed()  # in the board's side panel it may start below the fold
    box = pin_map.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)
    lat = float(page.locator("#location-form input[name=lat]").input_value())
    lon = float(page.locator("#location-form input[name=lon]").input_value())
    assert 28 < lat < 31 and 102 < lon < 106  # near the map's centre, north-east of it
    page.locator("#location-form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#report-map").is_visible() and page.locator("#pin-map").count() == 0
    db.session.expire_all()
    stored = db.session.get(Report, report_id)
    assert (round(stored.lat, 6), round(stored.lon, 6)) == (lat, lon) and stored.location_source == "staff"
    page.goto("/board?view=map")
    page.wait_for_selector('#board-map[data-count="1"]')
    assert page.errors == []
    context.close()
