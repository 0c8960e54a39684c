"""Never wait for the upload: after "Send" the report is on the phone and the rider is free at once; the
upload goes on with its progress shown, and the reference appears when the server answers (exactly once)."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Report
from tests import factories
from tests.e2e.conftest import SAMSUNG, log_in_page, offline_tiles

pytestmark = pytest.mark.e2e


def test_the_rider_is_free_before_the_upload_ends_and_the_reference_follows(phone, live):
    factories.make_user("rider1", password=factories.PASSWORD)
    db.session.commit()
    offline_tiles(phone)
    log_in_page(phone, "rider1", factories.PASSWORD)
    held = []

    def hold_the_upload(route):
        if route.request.method == "POST":
            held.append(route)  # answered below, once the page has freed the rider
        else:
            route.continue_()

    phone.route("**/api/v1/reports", hold_the_upload)
    phone.goto("/report")
    phone.set_input_files("#photo-input", SAMSUNG)
    phone.wait_for_selector("#previews li img")
    phone.click("label.tile:has(input[value=illegal_parking])")
    phone.wait_for_selector(".location-device")
    phone.click("#submit")
    phone.wait_for_selector("#conf-sending")  # saved on this phone: the rider may go
    assert phone.locator("#conf-reference-line").is_hidden()
    assert phone.evaluate("document.activeElement.id") == "confirmation"
    assert len(held) == 1 and db.session.scalar(select(func.count(Report.id))) == 0  # still uploading

    held[0].continue_()
    phone.wait_for_selector("#conf-reference-line:not([hidden])")
    assert phone.locator("#conf-sending").is_hidden()
    reference = phone.inner_text("#conf-reference")
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Report.id))) == 1  # exactly once
    assert db.session.scalar(select(Report.reference)) == reference
    phone.goto("/mine")
    phone.wait_for_selector(f"[data-reference='{reference}']")
