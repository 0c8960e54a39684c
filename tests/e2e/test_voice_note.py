"""A voice note: held down to record in Chromium with a fake microphone, sent with the report through the
outbox, played back on the rider's report page and on the staff's."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Report
from app.storage import photo_store
from tests import factories
from tests.e2e.conftest import SAMSUNG, log_in_page, offline_tiles, phone_context

pytestmark = pytest.mark.e2e


def plays(page) -> bool:
    """The page's voice note loads as audio the browser can decode (its metadata is read)."""
    page.evaluate(
        """() => {
            const a = document.getElementById('voice-note-player');
            const mark = () => a.setAttribute('data-loaded', a.error ? 'error' : 'ok');
            a.addEventListener('loadedmetadata', mark);
            a.addEventListener('error', mark);
            a.preload = 'auto';
            a.load();
        }"""
    )
    page.wait_for_selector("#voice-note-player[data-loaded]", state="attached")
    return page.get_attribute("#voice-note-player", "data-loaded") == "ok"


def test_a_rider_records_a_voice_note_sends_it_and_plays_it_back(browser, live):
    factories.make_user("rider1", password=factories.PASSWORD)
    factories.make_user("coord", "coordinator", password=factories.PASSWORD)
    db.session.commit()
    context = phone_context(browser, live.url, permissions=["geolocation", "microphone"])
    page = context.new_page()
    offline_tiles(page)
    log_in_page(page, "rider1", factories.PASSWORD)
    page.goto("/report")
    page.set_input_files("#photo-input", SAMSUNG)
    page.wait_for_selector("#previews li img")
    page.click("label.tile:has(input[value=illegal_parking])")
    button = page.locator("#voice-record")
    assert button.bounding_box()["height"] >= 44
    # Held down for two seconds of recording, then let go.
    button.dispatch_event("pointerdown", {"pointerId": 1, "isPrimary": True})
    page.wait_for_selector("#voice-record[aria-pressed=true]")
    page.wait_for_selector("#voice-status:text-matches('(^|[^0-9])([2-9]|[1-9][0-9]) ?(s|秒)')")  # two seconds recorded
    button.dispatch_event("pointerup", {"pointerId": 1, "isPrimary": True})
    page.wait_for_selector("#voice-player:not([hidden])")
    page.click("#submit")
    page.wait_for_selector("#conf-reference-line:not([hidden])")  # the server answered
    reference = page.inner_text("#conf-reference")

    db.session.expire_all()
    report = db.session.scalar(select(Report).where(Report.reference == reference))
    assert report.voice_type == "audio/webm" and 1.5 <= report.voice_seconds <= 10 and report.description == ""
    data = photo_store().get(report.voice_key)
    assert data[:4] == b"\x1a\x45\xdf\xa3" and len(data) < 100 * 1024  # under 100 KB per 30 s

    page.goto(f"/reports/{report.id}")
    assert plays(page)
    context.close()

    staff = phone_context(browser, live.url).new_page()
    log_in_page(staff, "coord", factories.PASSWORD)
    staff.goto(f"/board/reports/{report.id}")
    assert plays(staff)
    staff.context.close()
