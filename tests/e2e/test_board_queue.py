"""The board as a work queue in Chromium (issue 19) at 1366×800, 800×1280 and 360×740: ten rows above the
fold, the bulk bar only when rows are selected, the side panel, the keyboard, cards on narrow screens.
GRIDSNAP_SCREENSHOTS=1 also writes docs/board-*.png."""

import os
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Report, utcnow
from tests import factories as f
from tests.e2e.conftest import BLANK_TILE, log_in_page

pytestmark = pytest.mark.e2e

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs")


def screenshot(page, name):
    if not os.environ.get("GRIDSNAP_SCREENSHOTS"):
        return
    from PIL import Image

    path = os.path.join(DOCS, f"{name}.png")
    page.screenshot(path=path)
    Image.open(path).convert("RGB").quantize(colors=64).save(path, optimize=True)


def fill_board(n=24):
    rider = f.make_user("rider1", display_name="Rider Zhang")
    f.make_user("coord", "coordinator", password=f.PASSWORD, display_name="Coordinator Li")
    f.make_user("police", "handler", department="traffic_police", display_name="Officer Wu")
    now = utcnow()
    cats = ["illegal_parking", "garbage", "noise", "fire_lane_blocked", "illegal_parking", "garbage"]
    reports = []
    for i in range(n):
        r = f.report_row(
            rider,
            cats[i % len(cats)],
            at=now - timedelta(hours=3 * i + 1),
            address=f"玉津镇新华路{i + 1}号 Commercial Street number {i + 1}",
            description="a car parked across the tactile paving, again",
        )
        r.reference = f"GS-2026-{r.id:06d}"
        reports.append(r)
    db.session.commit()
    return reports


def open_board(browser, live, width, height, path="/board"):
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=live.url, locale="en-US")
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
    log_in_page(page, "coord", f.PASSWORD)
    page.goto(path)
    return context, page


def test_ten_rows_above_the_fold_and_the_bulk_bar_only_when_selected(browser, live):
    fill_board()
    context, page = open_board(browser, live, 1366, 800)
    rows = page.locator("tbody tr[data-id]")
    above = sum(
        1 for i in range(rows.count()) if rows.nth(i).bounding_box()["y"] + rows.nth(i).bounding_box()["height"] <= 800
    )
    screenshot(page, "board-laptop")
    assert above >= 10, f"only {above} rows above the fold"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    assert not page.locator("#bulk-bar").is_visible()
    screenshot(page, "board-laptop")
    rows.nth(0).locator("label.pick").click()
    assert page.locator("#bulk-bar").is_visible()
    assert "1" in page.inner_text("#bulk-count")
    rows.nth(0).locator("label.pick").click()
    assert not page.locator("#bulk-bar").is_visible()
    assert page.errors == []
    context.close()


def test_a_row_opens_in_the_side_panel_and_the_keyboard_works_the_queue(browser, live):
    reports = fill_board(6)
    context, page = open_board(browser, live, 1366, 800)
    first_url = page.url
    page.locator("tbody tr[data-id]").nth(1).locator(".c-place").click()
    page.wait_for_selector("#side-panel:not([hidden]) #panel-title")
    second = page.locator("tbody tr[data-id]").nth(1).get_attribute("data-reference")
    assert second in page.inner_text("#panel-title")
    assert page.url == first_url and page.locator("tbody tr[data-id]").count() == 6  # the list is kept
    screenshot(page, "board-side-panel")

    page.keyboard.press("Escape")
    assert page.locator("#side-panel").is_hidden()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "board-search"
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    assert page.locator("#kbd-help").is_visible()
    page.keyboard.press("Escape")
    assert page.locator("#kbd-help").is_hidden()

    page.keyboard.press("j")
    page.wait_for_selector("#side-panel:not([hidden]) #panel-title")
    first = page.locator("tbody tr.current").get_attribute("data-id")
    page.keyboard.press("j")
    assert page.locator("tbody tr.current").get_attribute("data-id") != first
    page.keyboard.press("k")
    assert page.locator("tbody tr.current").get_attribute("data-id") == first
    with page.expect_navigation():
        page.keyboard.press("a")  # accept the current report
    db.session.expire_all()
    assert db.session.get(Report, int(first)).status == "accepted"

    page.keyboard.press("j")
    target = int(page.locator("tbody tr.current").get_attribute("data-id"))
    page.once("dialog", lambda d: d.accept("Not a public road"))
    with page.expect_navigation():
        page.keyboard.press("r")
    db.session.expire_all()
    rejected = db.session.get(Report, target)
    assert rejected.status == "rejected"

    accepted_row = page.locator(f'tbody tr[data-id="{first}"]')
    accepted_row.locator(".c-place").click()
    page.wait_for_selector("#side-panel:not([hidden]) #panel-title")
    page.keyboard.press("Escape")
    page.keyboard.press("d")
    page.wait_for_selector('#side-panel form.move[data-to="assigned"]')
    assert page.evaluate("document.activeElement.name") == "department"
    assert page.errors == []
    assert len(reports) == 6
    context.close()


@pytest.mark.parametrize("size", [(800, 1280), (360, 740)])
def test_cards_on_tablets_and_phones(browser, live, size):
    fill_board(8)
    context, page = open_board(browser, live, *size)
    assert page.locator("thead").is_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
    card = page.locator("tbody tr[data-id]").first
    assert card.evaluate("tr => getComputedStyle(tr).display") == "grid"
    # no word broken in the middle: every cell's text wraps only between words
    broken = page.evaluate(
        "(() => [...document.querySelectorAll('.board-list td')].filter(td => {"
        " const s = getComputedStyle(td); return s.wordBreak === 'break-all' || s.overflowWrap === 'anywhere'"
        " || td.scrollWidth > td.clientWidth + 1; }).length)()"
    )
    assert broken == 0
    screenshot(page, f"board-{'tablet' if size[0] == 800 else 'phone'}")
    # a card opens the full report page (no side panel on narrow screens)
    card.locator(".c-place").click()
    page.wait_for_url("**/board/reports/*")
    assert page.locator("#moves").is_visible()
    context.close()
