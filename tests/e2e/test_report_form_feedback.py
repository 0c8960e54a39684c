"""The report form tells the rider what is wrong, at once and next to it (rough edges 2 and 3 of issue 19):
a picked file the browser cannot read is named straight away, a HEIC photo without a preview shows its name,
and sending without a photo or a category puts the app's message beside the missing part, in view and
focused, with no "0 photos" hint."""

import pytest

from app.extensions import db
from tests import factories
from tests.e2e.conftest import PHOTOS, log_in_page, offline_tiles

pytestmark = pytest.mark.e2e


@pytest.fixture
def form_page(phone, live):
    factories.make_user("rider1", password=factories.PASSWORD)
    db.session.commit()
    offline_tiles(phone)
    phone.context.set_default_timeout(15000)
    log_in_page(phone, "rider1", factories.PASSWORD)
    phone.goto("/report")
    phone.wait_for_function("window.GridSnapApp !== undefined")
    return phone


def test_a_file_the_browser_cannot_read_is_named_at_once(form_page):
    page = form_page
    page.set_input_files(
        "#photo-input", files=[{"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"shopping list: eggs"}]
    )
    page.wait_for_selector("#photo-error:not([hidden])")
    assert "notes.jpg" in page.inner_text("#photo-error")
    assert page.locator("#previews li").count() == 0
    assert page.locator("#submit").is_enabled()


def test_a_heic_photo_without_a_preview_shows_a_placeholder_with_its_name(form_page):
    page = form_page
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64  # Chromium cannot decode HEIC
    page.set_input_files("#photo-input", files=[{"name": "IMG_0042.HEIC", "mimeType": "image/heic", "buffer": heic}])
    page.wait_for_selector("#previews li .placeholder")
    assert "IMG_0042.HEIC" in page.inner_text("#previews li .placeholder")
    assert page.locator("#previews li img").count() == 0  # no broken image
    assert page.locator("#photo-error").is_hidden()


def test_sending_without_a_photo_or_category_says_so_next_to_it(form_page):
    page = form_page
    assert page.inner_text("#photo-hint") == "最多 4 张照片。"  # not "0 of 4 photos"
    page.click("#submit")
    page.wait_for_selector("#photo-error:not([hidden])")
    assert page.inner_text("#photo-error") == "请至少拍一张照片。"  # the app's words, in the page's language
    assert page.evaluate("document.activeElement.id") == "photo-input"
    assert page.evaluate(
        "(() => { const r = document.getElementById('photo-error').getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; })()"
    )
    page.set_input_files("#photo-input", PHOTOS + "noexif_hopper.jpg")
    page.wait_for_selector("#previews li img")
    assert page.locator("#photo-error").is_hidden()
    page.click("#submit")
    page.wait_for_selector("#category-error:not([hidden])")
    assert page.evaluate("document.activeElement.name") == "category"
    assert page.evaluate(
        "(() => { const r = document.getElementById('category-error').getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; })()"
    )
    assert page.locator("#form-error").is_hidden()
