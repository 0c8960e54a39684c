"""Chinese base maps in the browser: the WGS-84 <-> GCJ-02 conversion against published reference points and
the kept Python library, and on AMap tiles a device position drawn shifted while the form sends WGS-84."""

import math

import prcoords
import pytest

from tests import factories as f
from tests.e2e.conftest import BLANK_TILE, QIANWEI, log_in_page

pytestmark = pytest.mark.e2e

# Published by coordtransform (and agreed by prcoords): WGS-84 (39.915, 116.404) is GCJ-02 (39.91640428, 116.41024450).
PUBLISHED = ((39.915, 116.404), (39.91640428150164, 116.41024449916938))
CHINA = [(29.2254, 103.9507), (39.915, 116.404), (31.2304, 121.4737), (22.5431, 114.0579), (45.75, 126.65)]
# (Outside the rough box every library uses: Singapore, inside it, is shifted by all of them.)
ABROAD = [(35.6812, 139.7671), (48.8566, 2.3522), (51.5074, -0.1278), (-33.8688, 151.2093)]


def metres(a, b) -> float:
    dy = (a[0] - b[0]) * 111_320
    dx = (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


def offsite_to_blank(page, live):
    page.context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(live.url)
            else route.fulfill(status=200, content_type="image/png", body=BLANK_TILE)
        ),
    )


def test_the_browsers_conversion_matches_the_references(live, phone):
    f.make_user("rider", password=f.PASSWORD)
    offsite_to_blank(phone, live)
    log_in_page(phone, "rider", f.PASSWORD)
    phone.goto("/report")
    convert = "([lat, lon, way]) => window.GridSnapCoords[way](lat, lon)"
    wgs, gcj = PUBLISHED
    got = phone.evaluate(convert, [*wgs, "toGcj"])
    assert abs(got[0] - gcj[0]) < 1e-9 and abs(got[1] - gcj[1]) < 1e-9
    assert metres(phone.evaluate(convert, [*gcj, "toWgs"]), wgs) < 0.01
    for point in CHINA:
        shifted = phone.evaluate(convert, [*point, "toGcj"])
        reference = prcoords.wgs_gcj(point)
        assert metres(shifted, (reference.lat, reference.lon)) < 0.01
        assert 50 < metres(shifted, point) < 1000, "a real shift inside China"
        assert metres(phone.evaluate(convert, [*shifted, "toWgs"]), point) < 1, "round trip within 1 m"
    for point in ABROAD:
        assert phone.evaluate(convert, [*point, "toGcj"]) == list(point), "no shift outside China"
        assert phone.evaluate(convert, [*point, "toWgs"]) == list(point)


def test_on_amap_tiles_the_pin_is_drawn_in_gcj02_and_sent_in_wgs84(live, phone, live_app):
    f.make_user("rider", password=f.PASSWORD)
    live_app.config["MAP_PROVIDER"] = "amap"
    requested = []
    phone.context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(live.url)
            else (
                requested.append(route.request.url),
                route.fulfill(status=200, content_type="image/png", body=BLANK_TILE),
            )
        ),
    )
    try:
        log_in_page(phone, "rider", f.PASSWORD)
        phone.goto("/report")
        phone.wait_for_function("document.getElementById('lat').value !== ''")
        device = (QIANWEI["latitude"], QIANWEI["longitude"])
        sent = (float(phone.input_value("#lat")), float(phone.input_value("#lon")))
        assert metres(sent, device) < 0.2, "the form sends the device's WGS-84 position"
        drawn = phone.evaluate(
            """() => { var found = null;
                 document.getElementById('map').gridsnapMap.eachLayer(function (l) {
                   if (l.getLatLng && l.options.draggable) { var p = l.getLatLng(); found = [p.lat, p.lng]; } });
                 return found; }"""
        )
        expected = prcoords.wgs_gcj(device)
        assert metres(drawn, (expected.lat, expected.lon)) < 0.2, "drawn where AMap's tiles show the place"
        assert any("autonavi.com" in url for url in requested), "AMap's tiles were asked for"
        attribution = phone.inner_text(".leaflet-control-attribution")
        assert "高德" in attribution

        # The rider drags the pin 300 m east (on the map): the form gets that place back in WGS-84.
        target = (expected.lat, expected.lon + 300 / (111_320 * math.cos(math.radians(expected.lat))))
        phone.evaluate(
            """([lat, lon]) => { document.getElementById('map').gridsnapMap.eachLayer(function (l) {
                   if (l.getLatLng && l.options.draggable) { l.setLatLng([lat, lon]); l.fire('dragend'); } }); }""",
            list(target),
        )
        sent = (float(phone.input_value("#lat")), float(phone.input_value("#lon")))
        back = prcoords.gcj_wgs_bored(target)
        assert metres(sent, (back.lat, back.lon)) < 0.2
        assert 250 < metres(sent, device) < 350
        assert not phone.errors, phone.errors
    finally:
        live_app.config["MAP_PROVIDER"] = ""


def test_a_rider_finds_a_place_by_pinyin_initials_and_the_pin_moves_there(live, phone):
    from app.extensions import db
    from app.reports.places import import_places

    import_places("name,kind,lat,lon\n犍为县人民医院,hospital,29.2112,103.9489\n犍为文庙,landmark,29.2087,103.9468\n")
    db.session.commit()
    f.make_user("rider", password=f.PASSWORD)
    offsite_to_blank(phone, live)
    log_in_page(phone, "rider", f.PASSWORD)
    phone.goto("/report")
    phone.wait_for_function("document.getElementById('lat').value !== ''")
    phone.fill("#place-q", "rmyy")
    option = phone.locator("#place-q-results li").first
    option.wait_for()
    assert "犍为县人民医院" in option.inner_text()
    option.click()
    assert (float(phone.input_value("#lat")), float(phone.input_value("#lon"))) == (29.2112, 103.9489)
    assert phone.locator("#place-q-results").is_hidden()
    # From the keyboard too.
    phone.fill("#place-q", "wm")
    phone.locator("#place-q-results li").first.wait_for()
    phone.press("#place-q", "ArrowDown")
    phone.press("#place-q", "Enter")
    assert (float(phone.input_value("#lat")), float(phone.input_value("#lon"))) == (29.2087, 103.9468)
    assert not phone.errors, phone.errors
