"""On a phone: the bell's count rises after a move without a reload, and the rider answers "not fixed"
with a photo, which sends the report back."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Department, Report, ReportEvent, User, utcnow
from app.notify.delivery import deliver_due
from app.triage.services import transition
from tests import factories as f
from tests.e2e.conftest import BLANK_TILE, QIANWEI, log_in_page

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
        # The reference and the first report's badge (written at filing), the acceptance and its points.
        phone.wait_for_selector("[data-bell-count]:text-is('4')", timeout=10000)

        r = db.session.get(Report, report_id)
        transition(r, coord, "assigned", version=r.version, assignee_id=handler.id)
        transition(r, db.session.get(User, handler.id), "resolved", version=r.version, note="towed")
        db.session.commit()
        deliver_due()
        phone.wait_for_selector("[data-bell-count]:text-is('5')", timeout=10000)

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


def test_a_passer_by_takes_a_look_at_a_report_fixed_nearby(live, phone, tmp_path):
    """On the report page, a rider near a report resolved lately answers "not fixed" with a photo in one tap."""
    owner = f.make_user("owner")
    f.make_user("passer", password=f.PASSWORD)
    coord = f.make_user("coord", role="coordinator")
    r = f.file_report(owner, lat=QIANWEI["latitude"], lon=QIANWEI["longitude"])  # at the phone's position
    now = utcnow()
    f.history(r, [("accepted", now), ("assigned", now), ("resolved", now)], actor=coord)
    report_id = r.id
    phone.context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(live.url)
            else route.fulfill(status=200, content_type="image/png", body=BLANK_TILE)
        ),
    )
    log_in_page(phone, "passer", f.PASSWORD)
    phone.goto("/report")  # the page asks for the location; the phone grants it
    card = phone.locator("#looks")
    card.wait_for(state="visible")
    assert r.reference in card.inner_text()
    photo = tmp_path / "look.jpg"
    photo.write_bytes(f.jpeg())
    card.locator("input[type=file]").set_input_files(str(photo))
    phone.wait_for_selector("#looks .look-photo:has-text('已补充照片')")
    card.locator("button[data-fixed=false]").click()
    phone.wait_for_selector("#looks .look-thanks")
    assert not phone.errors, phone.errors
    db.session.expire_all()
    r = db.session.get(Report, report_id)
    assert r.status == "resolved", "a passer-by's answer reopens nothing"
    looks = [e for e in db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == report_id))]
    assert [e.details["fixed"] for e in looks if e.kind == "verification"] == [False]
    assert [p.kind for p in r.photos].count("followup") == 1
