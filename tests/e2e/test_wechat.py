"""WeChat's in-app browser, by its Android and iOS user agents: one line says what does not work there and
how to open the page in the browser; camera, location and the outbox still work (a report is filed)."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Report
from tests import factories
from tests.e2e.conftest import SAMSUNG, log_in_page, offline_tiles, phone_context

pytestmark = pytest.mark.e2e

ANDROID_WECHAT = (
    "Mozilla/5.0 (Linux; Android 13; PJA110 Build/TP1A.220905.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MMWEBID/2247 "
    "MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)
IOS_WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)


@pytest.mark.parametrize(("agent", "kind"), [(ANDROID_WECHAT, "install"), (IOS_WECHAT, "offline")])
def test_in_wechat_one_line_says_what_does_not_work_and_a_report_is_still_filed(browser, live, agent, kind):
    factories.make_user("rider1", password=factories.PASSWORD)
    db.session.commit()
    context = phone_context(browser, live.url, user_agent=agent)
    page = context.new_page()
    offline_tiles(page)
    page.goto("/login")
    note = page.locator("#wechat-note")
    assert note.is_visible() and note.get_attribute("data-kind") == kind
    assert "Open in browser" in note.inner_text() or "浏览器" in note.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    log_in_page(page, "rider1", factories.PASSWORD)
    page.goto("/report")
    assert page.get_attribute("#photo-input", "capture") == "environment"  # the camera opens as anywhere
    page.wait_for_selector(".location-device")  # the location works
    page.set_input_files("#photo-input", SAMSUNG)
    page.wait_for_selector("#previews li img")
    page.click("label.tile:has(input[value=illegal_parking])")
    page.click("#submit")
    page.wait_for_selector("#conf-reference-line:not([hidden])")  # through the outbox, as in any browser
    reference = page.inner_text("#conf-reference")
    db.session.expire_all()
    assert db.session.scalar(select(Report.id).where(Report.reference == reference)) is not None
    context.close()


def test_outside_wechat_there_is_no_note(phone, live):
    phone.goto("/login")
    assert phone.locator("#wechat-note").is_hidden()
