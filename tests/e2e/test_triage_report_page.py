"""The staff report page in Chromium at 1366×800, 800×1280 and 360×740: one primary step near the top,
the other steps in a menu, reject confirmed, the dispatch form's handlers following the department, the
pin dragged to correct the location. GRIDSNAP_SCREENSHOTS=1 also writes docs/report-page-*.png."""

import os

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Report, User
from tests import factories as f
from tests.e2e.conftest import BLANK_TILE, log_in_page

pytestmark = pytest.mark.e2e

VIEWPORTS = {"laptop": (1366, 800), "tablet": (800, 1280), "phone": (360, 740)}
DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs")


def open_page(browser, live, size, username):
    width, height = VIEWPORTS[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, base_url=live.url, locale="en-US", has_touch=size == "phone"
    )
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
    log_in_page(page, username, f.PASSWORD)
    return context, page


def screenshot(page, name):
    """A small PNG of what the viewport shows, for the README's tour (only when asked for)."""
    if not os.environ.get("GRIDSNAP_SCREENSHOTS"):
        return
    from PIL import Image

    path = os.path.join(DOCS, f"{name}.png")
    page.screenshot(path=path)
    Image.open(path).convert("RGB").quantize(colors=64).save(path, optimize=True)


def people():
    f.make_user("rider", display_name="Rider Zhang", password=f.PASSWORD)
    f.make_user("coord", "coordinator", password=f.PASSWORD, display_name="Coordinator Li")
    f.make_user("police", "handler", password=f.PASSWORD, department="traffic_police", display_name="Officer Wu")
    f.make_user("green", "handler", password=f.PASSWORD, department="environment", display_name="Inspector Ma")
    db.session.commit()
    return db.session.scalar(select(User).where(User.username == "rider"))


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_the_primary_step_comes_first_and_reject_is_confirmed(browser, live, size):
    rider = people()
    report = f.file_report(rider, description="car on the tactile path")
    report_id, reference = report.id, report.reference
    context, page = open_page(browser, live, size, "coord")
    page.goto(f"/board/reports/{report_id}")
    primary = page.locator('form.move[data-kind="primary"] button[type=submit]')
    assert primary.inner_text().strip() == "Accept"
    box = primary.bounding_box()
    assert box["y"] + box["height"] <= VIEWPORTS[size][1], "the primary step is below the fold"
    assert page.locator("#moves").bounding_box()["y"] < page.locator("#timeline").bounding_box()["y"]
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[size][0]
    assert not page.locator('form.move[data-to="rejected"]').is_visible()  # in the menu, closed
    screenshot(page, f"report-page-{size}")

    page.locator("details.more-move.destructive summary", has_text="Reject").click()
    reject = page.locator('form.move[data-to="rejected"]')
    reject.locator("textarea[name=reply]").fill("Blurred photo, please file it again")
    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    reject.locator("button.danger").click()
    assert asked and reference in asked[0]
    db.session.expire_all()
    assert db.session.get(Report, report_id).status == "submitted"  # dismissed: nothing sent
    page.once("dialog", lambda d: d.accept())
    reject.locator("button.danger").click()
    page.wait_for_selector("h1 .status-rejected")
    assert "Blurred photo" in page.locator("#timeline").inner_text()
    assert page.errors == []
    context.close()


def test_the_dispatch_form_follows_the_department_and_the_pin_moves_the_report(browser, live):
    rider = people()
    report = f.file_report(rider)
    f.history(report, [("accepted", f.utcnow())])
    report_id, lat = report.id, report.lat
    context, page = open_page(browser, live, "laptop", "coord")
    page.goto(f"/board/reports/{report_id}")
    dispatch = page.locator('form.move[data-to="assigned"]')
    handlers = dispatch.locator('select[name="assignee"] option')
    assert handlers.all_inner_texts() == ["—", "Officer Wu"]
    dispatch.locator('select[name="department"]').select_option("environment")
    assert handlers.all_inner_texts() == ["—", "Inspector Ma"]

    pin = page.locator("#report-map .drag-pin")
    box = pin.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 20, y + 40, steps=8)
    page.mouse.up()
    assert float(page.locator("#correct-lat").input_value()) < lat  # dragged down: south
    page.locator("#correct button[type=submit]").click()
    page.wait_for_load_state()
    assert "Location corrected (moved" in page.locator("#timeline").inner_text()
    assert page.errors == []
    context.close()


def test_a_handler_on_a_phone_finds_start_at_the_top(browser, live):
    rider = people()
    handler = db.session.scalar(select(User).where(User.username == "police"))
    report = f.history(
        f.file_report(rider), [("accepted", f.utcnow()), ("assigned", f.utcnow(), {"assignee_id": handler.id})]
    )
    context, page = open_page(browser, live, "phone", "police")
    page.goto(f"/board/reports/{report.id}")
    start = page.locator('form.move[data-kind="primary"] button[type=submit]')
    assert start.inner_text().strip() == "Start handling"
    assert start.bounding_box()["y"] < 740
    start.click()
    page.wait_for_selector("h1 .status-in_progress")
    context.close()
