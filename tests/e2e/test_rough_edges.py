"""Rough edges of issue 19 that only a browser shows: the header on a phone for every role, its focus ring,
the weekly summary's tables and charts at 1366 and 360 px, and the board map's points from the keyboard."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from tests import factories as f
from tests.e2e.conftest import BLANK_TILE, log_in_page

pytestmark = pytest.mark.e2e

SH = ZoneInfo("Asia/Shanghai")
MON = date(2025, 3, 3)  # 2025-W10


def context_for(browser, live, width, height, locale="zh-CN"):
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=live.url, locale=locale)
    context.set_default_timeout(15000)
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(live.url)
            else route.fulfill(status=200, content_type="image/png", body=BLANK_TILE)
        ),
    )
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return context, page


@pytest.mark.parametrize("role", ["rider", "handler", "coordinator", "admin"])
def test_the_header_is_one_row_on_a_phone_for_every_role(browser, live, role):
    f.make_user("someone", role, password=f.PASSWORD, display_name="王小明同志", department="traffic_police")
    db.session.commit()
    context, page = context_for(browser, live, 360, 740)
    log_in_page(page, "someone", f.PASSWORD)
    header = page.locator("header.topbar")
    assert header.bounding_box()["height"] <= 56, "the header wraps onto a second row"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    toggle = page.locator(".menu-toggle")
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    links = page.locator("#site-nav > a:not(.bell):not(.lang)")
    assert links.count() >= 2 and all(links.nth(i).is_visible() for i in range(links.count()))
    page.keyboard.press("Escape")
    assert not links.first.is_visible()
    assert page.errors == []
    context.close()


def test_the_headers_focus_ring_shows_on_its_dark_background(browser, live):
    f.make_user("coord", "coordinator", password=f.PASSWORD)
    db.session.commit()
    context, page = context_for(browser, live, 1366, 800)
    log_in_page(page, "coord", f.PASSWORD)
    page.keyboard.press("Tab")  # the first link of the page: the brand, in the header
    ring = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.closest('header') !== null, s.outlineStyle, s.outlineColor]; })()"
    )
    assert ring[0] and ring[1] == "solid" and ring[2] == "rgb(255, 191, 71)"
    context.close()


def summary_data():
    from app.grids.models import Grid

    square = {
        "type": "Polygon",
        "coordinates": [[[103.9, 29.2], [103.96, 29.2], [103.96, 29.23], [103.9, 29.23], [103.9, 29.2]]],
    }
    grid = Grid(code="G01", name="玉津一网格", geometry=square)
    db.session.add(grid)
    db.session.commit()
    rider = f.make_user("rider1")
    f.make_user("coord", "coordinator", password=f.PASSWORD)
    for day in range(5):
        when = datetime(MON.year, MON.month, MON.day, 9, tzinfo=SH) + timedelta(days=day)
        f.report_row(rider, "illegal_parking", when, grid_id=grid.id, address="玉津镇新华路12号")
        f.report_row(rider, "elevator_hazard", when + timedelta(hours=1), grid_id=grid.id)
    db.session.commit()


def test_the_summary_tables_fit_a_laptop_and_scroll_in_their_own_box_on_a_phone(browser, live):
    summary_data()
    context, page = context_for(browser, live, 1366, 800)
    log_in_page(page, "coord", f.PASSWORD)
    page.goto("/summaries/2025-W10")
    for box_id in ("by-category", "by-grid", "by-department"):
        fits = page.evaluate(
            f"(() => {{ const b = document.querySelector('#{box_id} .table-scroll');"
            " return b.scrollWidth <= b.clientWidth; })()"
        )
        assert fits, f"{box_id}: the overdue column is hidden behind the scroll at 1366 px"
    page.set_viewport_size({"width": 360, "height": 740})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    scrolls = page.evaluate(
        "(() => { const b = document.querySelector('#by-category .table-scroll');"
        " return [b.scrollWidth > b.clientWidth, getComputedStyle(b).overflowX]; })()"
    )
    assert scrolls == [True, "auto"]
    smallest = page.evaluate(
        "(() => { let min = 99; document.querySelectorAll('.chart text').forEach(t => {"
        " const h = t.getBoundingClientRect().height; if (t.textContent.trim() && h) { min = Math.min(min,"
        " parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a); } }); return min; })()"
    )
    assert smallest >= 11, f"chart labels are {smallest:.1f} px on a phone"
    assert page.errors == []
    context.close()


def test_the_board_maps_points_are_reachable_from_the_keyboard(browser, live):
    rider = f.make_user("rider1")
    f.make_user("coord", "coordinator", password=f.PASSWORD)
    report = f.report_row(rider)
    report.reference = "GS-KB-000001"
    db.session.commit()
    context, page = context_for(browser, live, 1366, 800, "en-US")
    log_in_page(page, "coord", f.PASSWORD)
    page.goto("/board?view=map")
    page.wait_for_selector('#board-map[data-count="1"]')
    point = page.locator("#board-map .board-point")
    assert point.get_attribute("tabindex") == "0"
    point.focus()
    page.keyboard.press("Enter")
    link = page.locator("#board-map .leaflet-popup-content a")
    assert link.inner_text() == "GS-KB-000001"
    context.close()
