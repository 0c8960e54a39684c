"""One hand, sunlight, no map: a place without the map (typed, the map's centre, arrow keys on the pin), the
location asked only after the first gesture, focus unlike selection, contrast in sunlight, the send button
under the thumb, focus on the confirmation."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Report
from tests import factories
from tests.e2e.conftest import SAMSUNG, log_in_page, offline_tiles, phone_context

pytestmark = pytest.mark.e2e

COUNT_LOCATION_ASKS = """
window.__asks = 0;
const original = navigator.geolocation.getCurrentPosition.bind(navigator.geolocation);
navigator.geolocation.getCurrentPosition = function () { window.__asks += 1; return original.apply(null, arguments); };
"""


def luminance(rgb: str) -> float:
    r, g, b = (int(v) / 255 for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def rider_page(browser, live, **options):
    """A logged-in rider's page; its context is closed after the test (conftest)."""
    factories.make_user("rider1", password=factories.PASSWORD)
    db.session.commit()
    page = phone_context(browser, live.url, **options).new_page()
    offline_tiles(page)
    log_in_page(page, "rider1", factories.PASSWORD)
    return page


def test_without_location_or_map_the_rider_types_the_place_and_sends(browser, live):
    page = rider_page(browser, live, geolocation=False)
    page.goto("/report")
    page.set_input_files("#photo-input", SAMSUNG)  # no GPS in the way: the typed place decides
    page.wait_for_selector("#previews li img")
    page.click("label.tile:has(input[value=illegal_parking])")
    page.fill("#place-text", "29.2100, 103.9500")
    page.press("#place-text", "Enter")
    page.wait_for_selector(".location-map")
    page.click("#submit")
    page.wait_for_selector("#conf-reference-line:not([hidden])")  # the server answered
    assert page.evaluate("document.activeElement.id") == "confirmation"  # focus moves to the confirmation
    db.session.expire_all()
    report = db.session.scalar(select(Report).where(Report.reference == page.inner_text("#conf-reference")))
    assert (round(report.lat, 4), round(report.lon, 4)) == (29.21, 103.95) and report.location_source == "map"


def test_a_wrong_place_is_told_and_the_pin_goes_to_the_map_centre_and_moves_with_arrow_keys(browser, live):
    page = rider_page(browser, live, geolocation=False)
    page.goto("/report")
    page.fill("#place-text", "the bridge")
    page.click("#place-use")
    assert page.get_attribute("#place-text", "aria-invalid") == "true" and page.inner_text("#place-message")
    page.click("#place-centre")
    page.wait_for_selector(".location-map")
    lat = float(page.input_value("#lat"))
    page.focus(".leaflet-marker-icon")
    page.keyboard.press("ArrowUp")
    assert float(page.input_value("#lat")) > lat
    assert page.evaluate("document.activeElement.classList.contains('leaflet-marker-icon')")


def test_the_location_is_asked_for_after_the_first_gesture_not_on_load(browser, live):
    factories.make_user("rider1", password=factories.PASSWORD)
    db.session.commit()
    context = phone_context(browser, live.url, geolocation=False)  # not yet allowed: the browser would prompt
    context.add_init_script(COUNT_LOCATION_ASKS)
    page = context.new_page()
    offline_tiles(page)
    log_in_page(page, "rider1", factories.PASSWORD)
    page.goto("/report")
    page.wait_for_selector("#map:not([hidden])")
    assert page.evaluate("window.__asks") == 0
    page.click("label.tile:has(input[value=illegal_parking])")
    page.wait_for_function("() => window.__asks === 1")


def test_tiles_read_in_sunlight_and_focus_looks_unlike_selection(browser, live):
    page = rider_page(browser, live)
    page.goto("/report")
    tile = "label.tile:has(input[value=illegal_parking])"
    border = page.eval_on_selector(tile, "e => getComputedStyle(e).borderTopColor")
    assert contrast(border, "rgb(255, 255, 255)") >= 3
    page.click(tile)
    selected = page.eval_on_selector(tile, "e => getComputedStyle(e).borderTopColor")
    assert contrast(selected, "rgb(255, 255, 255)") >= 3
    assert page.eval_on_selector(tile, "e => getComputedStyle(e, '::after').content") == '"✓"'
    page.focus("input[value=noise]")
    page.keyboard.press("ArrowLeft")  # moves focus and selection along the radio group by keyboard
    page.keyboard.press("ArrowRight")
    focused = page.eval_on_selector("label.tile:has(input:focus-visible)", "e => getComputedStyle(e).outlineColor")
    assert focused == "rgb(255, 191, 71)"
    edge = page.eval_on_selector("label.tile:has(input:focus-visible)", "e => getComputedStyle(e).boxShadow")
    assert "rgb(17, 17, 17)" in edge  # the yellow ring's dark edge


def test_the_send_button_stays_under_the_thumb_once_a_photo_is_in(browser, live):
    page = rider_page(browser, live)
    page.goto("/report")
    page.set_input_files("#photo-input", SAMSUNG)
    page.wait_for_selector("#previews li img")
    page.evaluate("window.scrollTo(0, 0)")
    box = page.locator("#submit").bounding_box()
    height = page.viewport_size["height"]
    assert box["y"] >= 0 and box["y"] + box["height"] <= height and box["height"] >= 44
