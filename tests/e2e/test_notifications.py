"""On a phone: the bell's count rises after a move without a reload, and the rider answers "not fixed"
with a photo, which sends the report back."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Department, Report, User
from app.notify.delivery import deliver_due
from app.triage.services import transition
from tests import factories as f
from tests.e2e.conftest import BLANK_TILE, log_in_page

pytestmark = pytest.mark.e2e


def test_the_bell_counts_up_and_the_rider_says_not_fixed_with_a_photo(live, phone, tmp_path, live_app):
    live_app.config["NOTIFY_BELL_POLL_SECONDS"] = 1
    traffic = db.session.scalar(select(Department.id).where(Department.code == "traffic_police"))
    rider = f.make_user("rider", display_name="Rider Zhang", password=f.PASSWORD)
    coord = f.make_user("coord", role="coordinator")
    handler = f.make_user("handler", role="handler", department_id=traffic)
    r = f.file_report(rider)
    report_id = r.id
    phone.context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(live.url)
            else route.fulfill(status=200, content_type="image/png", body=BLANK_TILE)
        ),
    )
    try:
        log_in_page(phone, "rider", f.PASSWORD)
        phone.goto(f"/reports/{report_id}")
        assert phone.locator("[data-bell-count]").count() == 0

        transition(r, coord, "accepted", version=r.version)
        db.session.commit()
        deliver_due()  # what the worker does
        phone.wait_for_selector("[data-bell-count]:has-text('1')", timeout=10000)

        r = db.session.get(Report, report_id)
        transition(r, coord, "assigned", version=r.version, assignee_id=handler.id)
        transition(r, db.session.get(User, handler.id), "resolved", version=r.version, note="towed")
        db.session.commit()
        deliver_due()
        phone.wait_for_selector("[data-bell-count]:has-text('2')", timeout=10000)

        phone.reload()
        card = phone.locator("#confirm")
        assert card.is_visible()
        photo = tmp_path / "still-there.jpg"
        photo.write_bytes(f.jpeg())
        card.locator("summary").click()
        card.locator("input[type=file]").set_input_files(str(photo))
        card.locator("textarea[name=note]").fill("还在这里")
        card.locator("button[value='0']").click()
        phone.wait_for_load_state()
        assert phone.locator("#confirm").count() == 0
        assert not phone.errors, phone.errors
        db.session.expire_all()
        r = db.session.get(Report, report_id)
        assert r.status == "accepted" and len(r.photos) == 2
    finally:
        live_app.config["NOTIFY_BELL_POLL_SECONDS"] = 60
