"""A report from accept to close in the browser: the coordinator accepts and dispatches it, the handler
resolves it with a note, the coordinator closes it as fixed, and the rider follows it on the phone."""

import pytest

from app.extensions import db
from tests import factories as f
from tests.e2e.conftest import log_in_page, phone_context

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 800}


def offline(context, base_url):
    """Only the live server answers: map tiles and anything else outside are refused."""
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base_url) else route.abort())
    return context


def desktop(browser, live):
    context = offline(browser.new_context(viewport=DESKTOP, base_url=live.url, locale="en-US"), live.url)
    context.set_default_timeout(15000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return context, page


def submit_move(page, to):
    page.locator(f'form.move[data-to="{to}"] button[type=submit]').click()
    page.wait_for_load_state()


def test_report_goes_from_accept_to_closed_and_the_rider_sees_it_all(browser, live):
    from sqlalchemy import select

    from app.models import Department

    traffic = db.session.scalar(select(Department.id).where(Department.code == "traffic_police"))
    f.make_user("rider", display_name="Rider Zhang", password=f.PASSWORD)
    f.make_user("coord", "coordinator", password=f.PASSWORD, display_name="Coordinator Li")
    handler = f.make_user("handler", "handler", password=f.PASSWORD, display_name="Handler Wang", department_id=traffic)
    from app.models import User

    rider = db.session.scalar(select(User).where(User.username == "rider"))
    report = f.file_report(rider, description="car on the tactile path")
    report_id, reference, handler_id = report.id, report.reference, handler.id
    db.session.commit()

    coord_ctx, coord = desktop(browser, live)
    log_in_page(coord, "coord", f.PASSWORD)
    coord.goto("/board")
    coord.click(f"text={reference}")  # on a wide screen: the side panel, the list kept
    coord.wait_for_selector("#side-panel:not([hidden]) #panel-title")
    coord.click("#panel-full")  # the full page
    coord.wait_for_url(f"**/board/reports/{report_id}")
    submit_move(coord, "accepted")
    assert coord.locator('form.move[data-to="assigned"]').is_visible()
    dispatch = coord.locator('form.move[data-to="assigned"]')
    assert dispatch.locator('select[name="department"]').input_value() == "traffic_police"  # suggested
    dispatch.locator('select[name="assignee"]').select_option(str(handler_id))
    submit_move(coord, "assigned")
    moves = coord.locator("#moves form.move").evaluate_all("fs => fs.map(f => f.dataset.to)")
    assert moves == ["in_progress", "resolved", "accepted"]  # a coordinator may also recall it

    handler_ctx, hpage = desktop(browser, live)
    log_in_page(hpage, "handler", f.PASSWORD)
    hpage.goto("/tasks")
    hpage.click(f"#tasks >> text={reference}")
    hpage.locator("details.more-move summary", has_text="Mark resolved").click()  # "start" is the primary step
    resolve = hpage.locator('form.move[data-to="resolved"]')
    resolve.locator("textarea[name=reply]").fill("Car towed, path clear")
    submit_move(hpage, "resolved")
    assert "Car towed, path clear" in hpage.locator("#timeline").inner_text()
    assert hpage.locator("form.move").count() == 0  # nothing more for the handler to do

    coord.reload()
    close = coord.locator('form.move[data-to="closed"]')
    close.locator('select[name="outcome"]').select_option("fixed")
    close.locator("details.notes summary").click()  # the primary step's note and reply fold away
    close.locator("textarea[name=reply]").fill("Checked on site")
    submit_move(coord, "closed")
    assert coord.locator("h1 .badge").inner_text().strip() == "Closed"
    # the same filter as a map: the closed report is one clustered marker
    coord.goto("/board?status=closed&view=map")
    coord.wait_for_selector('#board-map[data-count="1"]')
    assert coord.locator("#board-map .board-point").count() == 1  # one marker, reachable with the keyboard
    assert coord.errors == [] and hpage.errors == []
    coord_ctx.close()
    handler_ctx.close()

    phone_ctx = offline(phone_context(browser, live.url, locale="en-US"), live.url)
    phone = phone_ctx.new_page()
    log_in_page(phone, "rider", f.PASSWORD)
    phone.goto("/mine")
    item = phone.locator(f'#my-reports li[data-reference="{reference}"]')
    item.locator("summary").click()
    timeline = item.locator("ol.timeline li")
    steps = [t.strip() for t in item.locator("ol.timeline li .what").all_inner_texts()]
    assert steps == [
        "Submitted",
        "Submitted → Accepted",
        "Accepted → Dispatched",
        "Dispatched → Resolved",
        "Resolved → Closed",
    ]
    text = item.inner_text()
    assert "Car towed, path clear" in text and "Checked on site" in text and "Fixed" in text
    assert timeline.count() == 5
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the rider's list scrolls sideways"
    phone_ctx.close()
