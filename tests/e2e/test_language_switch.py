"""Rough edge 1 of issue 19 in Chromium: EN tapped 200 ms after landing (the page's static files and the
service worker's background requests still under way, "keep me logged in" on): every later page is English."""

import pytest

from app.extensions import db
from tests import factories as f
from tests.e2e.conftest import offline_tiles, phone_context

pytestmark = pytest.mark.e2e


def test_the_switch_tapped_during_the_first_load_after_login_sticks(browser, live):
    f.make_user("rider1", password=f.PASSWORD)
    db.session.commit()
    context = phone_context(browser, live.url)  # a Chinese phone
    page = context.new_page()
    offline_tiles(page)
    page.goto("/login/password")  # the password form (/login is the SMS sign-in)
    page.fill("input[name=username]", "rider1")
    page.fill("input[name=password]", f.PASSWORD)
    page.check("input[name=remember]")
    page.click("button[type=submit]")
    page.wait_for_url("**/report", wait_until="commit")  # landed: the page and its requests are under way
    page.wait_for_timeout(200)
    page.click("header a.lang")
    page.wait_for_load_state("load")
    for path in ("/mine", "/report", "/me/points", "/mine"):
        page.goto(path)
        page.wait_for_load_state("networkidle")  # the service worker's background requests done too
        assert page.evaluate("document.documentElement.lang") == "en", path
    context.close()
