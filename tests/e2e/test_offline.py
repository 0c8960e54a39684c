"""Riders on bad networks: the report page opens with no network after one visit, a report filed
offline waits on the phone (surviving a reload) and arrives exactly once when the network returns,
and an upload the server fails is retried and arrives once."""

import json
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.extensions import db
from app.models import Photo, Report
from tests import factories
from tests.e2e.conftest import SAMSUNG, log_in_page, offline_tiles

pytestmark = pytest.mark.e2e

SHELL_CACHED = """async () => {
  if (!navigator.serviceWorker) return false;
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) return false;
  const names = await caches.keys();
  for (const name of names) {
    const cache = await caches.open(name);
    if (await cache.match('/report') && await cache.match('/mine')) return true;
  }
  return false;
}"""


SAVED_PAGES = """async () => {
  const saved = [];
  for (const name of await caches.keys()) {
    if (name.indexOf('gridsnap-') !== 0) continue;
    const cache = await caches.open(name);
    for (const url of ['/report', '/mine']) { if (await cache.match(url)) saved.push(url); }
  }
  return saved;
}"""


def reports_on_server() -> int:
    db.session.expire_all()
    db.session.rollback()
    return db.session.scalar(select(func.count(Report.id)))


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def install(page):
    """One online visit: log in, open the report page, wait until the shell is cached and controlled."""
    factories.make_user("rider1", password=factories.PASSWORD)
    db.session.commit()
    offline_tiles(page)
    log_in_page(page, "rider1", factories.PASSWORD)
    page.goto("/report")
    assert wait_until(lambda: page.evaluate(SHELL_CACHED)), "the service worker did not cache the shell"
    page.reload()  # now controlled by the worker


def fill(page, category="fire_lane_blocked"):
    page.set_input_files("#photo-input", SAMSUNG)
    page.wait_for_selector("#previews li img")
    page.wait_for_selector(".location-device")
    page.click(f"label.tile:has(input[value={category}])")


def test_report_page_opens_with_no_network_after_one_visit(phone, live):
    install(phone)
    phone.context.set_offline(True)
    phone.reload()
    phone.wait_for_selector("#report-form")
    phone.wait_for_selector("#map:not([hidden])")  # Leaflet came from the cache too
    assert phone.is_visible("#photo-input + p, #photo-hint")
    phone.goto("/mine")
    phone.wait_for_selector("#my-reports")
    phone.context.set_offline(False)


def test_report_filed_offline_waits_survives_a_reload_and_arrives_exactly_once(phone, live):
    install(phone)
    phone.context.set_offline(True)
    phone.reload()
    fill(phone)
    phone.click("#submit")
    phone.wait_for_selector("#conf-queued:not([hidden])")
    filed_at = phone.evaluate("Date.now()")

    phone.goto("/mine")  # served from the phone's cache
    phone.wait_for_selector("#outbox:not([hidden]) .outbox-item")
    phone.reload()  # still there after a reload
    phone.wait_for_selector("#outbox:not([hidden]) .outbox-item")
    assert phone.locator(".outbox-item").count() == 1
    assert reports_on_server() == 0

    phone.context.set_offline(False)  # the connection returns: it is sent by itself
    assert wait_until(lambda: reports_on_server() == 1), "the waiting report was not sent"
    phone.wait_for_selector("#my-reports [data-reference]")
    expect(phone.locator(".outbox-item")).to_have_count(0, timeout=15000)  # no eval: the CSP forbids it
    time.sleep(1)  # any second sender (Background Sync) has had its turn
    assert reports_on_server() == 1
    report = db.session.scalar(select(Report))
    assert report.category.code == "fire_lane_blocked"
    assert report.idempotency_key.startswith("gs-")
    assert db.session.scalar(select(func.count(Photo.id))) == 1
    # The capture time is when the rider filed it on the phone, not when it arrived.
    assert abs(report.captured_at.timestamp() * 1000 - filed_at) < 5000
    assert report.captured_at < report.created_at


@pytest.mark.parametrize("reached_server", [False, True], ids=["refused-before", "answer-lost"])
def test_upload_the_server_fails_once_is_retried_and_arrives_once(phone, live, reached_server):
    install(phone)
    failures = []

    def fail_once(route):
        failures.append(route.request.headers.get("idempotency-key"))
        if reached_server:
            route.fetch()  # the server filed it, but the answer never came back
        route.fulfill(
            status=503,
            content_type="application/json",
            body=json.dumps({"error": {"code": "unavailable", "message": "busy"}}),
        )

    # Only the first upload is intercepted; the retry goes to the server untouched.
    phone.route("**/api/v1/reports", fail_once, times=1)
    fill(phone, "noise")
    phone.click("#submit")
    phone.wait_for_selector("#conf-queued:not([hidden])")
    assert failures and failures[0].startswith("gs-")
    assert reports_on_server() == (1 if reached_server else 0)

    # Chromium's request interception cannot replay bodies read back from IndexedDB: stop intercepting.
    phone.unroute_all()
    phone.goto("/mine")  # opening the app sends what waits
    assert wait_until(lambda: reports_on_server() == 1)
    expect(phone.locator(".outbox-item")).to_have_count(0, timeout=15000)  # no eval: the CSP forbids it
    time.sleep(1)
    assert reports_on_server() == 1
    assert db.session.scalar(select(Report)).idempotency_key == failures[0]


def test_rider_can_delete_a_waiting_report(phone, live):
    install(phone)
    phone.context.set_offline(True)
    phone.reload()
    fill(phone)
    phone.click("#submit")
    phone.wait_for_selector("#conf-queued:not([hidden])")
    phone.goto("/mine")
    phone.wait_for_selector(".outbox-item")
    phone.on("dialog", lambda d: d.accept())
    phone.click(".outbox-item [data-delete]")
    expect(phone.locator(".outbox-item")).to_have_count(0, timeout=15000)  # no eval: the CSP forbids it
    phone.context.set_offline(False)
    phone.reload()
    time.sleep(1)
    assert reports_on_server() == 0


def test_on_a_shared_phone_each_riders_waiting_report_goes_out_under_their_own_login(phone, live):
    """Rider 1 files while the server cannot take it, then logs out: the saved copies of their pages are
    gone, and rider 2 logging in on the same phone neither sends nor sees rider 1's waiting report;
    it arrives, once, when rider 1 logs in again."""
    install(phone)
    factories.make_user("rider2", password=factories.PASSWORD)
    db.session.commit()
    phone.route(
        "**/api/v1/reports",
        lambda route: route.fulfill(
            status=503, content_type="application/json", body=json.dumps({"error": {"code": "x", "message": "busy"}})
        ),
    )
    fill(phone)
    phone.click("#submit")
    phone.wait_for_selector("#conf-queued:not([hidden])")
    phone.unroute_all()

    phone.goto("/profile")
    phone.click("form[data-logout] button[type=submit]")
    phone.wait_for_url("**/login**")
    assert phone.evaluate(SAVED_PAGES) == [], "rider 1's pages are still saved on the phone"

    log_in_page(phone, "rider2", factories.PASSWORD)
    phone.goto("/mine")
    phone.wait_for_selector("#my-reports")
    time.sleep(2)  # the outbox has had its turn to send
    assert reports_on_server() == 0
    assert phone.locator(".outbox-item").count() == 0

    phone.goto("/profile")
    phone.click("form[data-logout] button[type=submit]")
    phone.wait_for_url("**/login**")
    log_in_page(phone, "rider1", factories.PASSWORD)
    phone.goto("/mine")
    assert wait_until(lambda: reports_on_server() == 1), "rider 1's waiting report was not sent"
    time.sleep(1)
    assert reports_on_server() == 1
    assert db.session.scalar(select(Report)).user.username == "rider1"


# What the server answers past a rider's report limit (tests/integration/test_filing_limits.py checks the
# server's side); here the phone's side: the outbox waits it out.
LIMIT_MESSAGE = "您短时间内上报次数过多，1小时后可以再次上报；保存在手机上的上报届时会自动发送。"


def test_a_report_over_the_riders_limit_waits_out_retry_after_then_arrives_once(phone, live):
    """A 429 with Retry-After: the report stays on the phone, the rider sees the server's message and
    until when it waits, nothing is sent before then (not on reopening the app either), and once the wait
    is over it is sent by itself, once."""
    factories.make_user("rider1", password=factories.PASSWORD)
    db.session.commit()
    offline_tiles(phone)
    refused = []

    def limit_reached(route):
        refused.append(route.request.headers.get("idempotency-key"))
        route.fulfill(
            status=429,
            headers={"Retry-After": "3600"},
            content_type="application/json",
            body=json.dumps({"error": {"code": "rate_limited", "message": LIMIT_MESSAGE}}),
        )

    phone.clock.install()  # the phone's clock, moved on below instead of waiting an hour
    log_in_page(phone, "rider1", factories.PASSWORD)
    phone.goto("/report")
    phone.route("**/api/v1/reports", limit_reached, times=1)
    fill(phone)
    phone.click("#submit")
    held = phone.locator("#conf-held")
    expect(held).to_be_visible()
    assert LIMIT_MESSAGE in held.inner_text() and "之后自动发送" in held.inner_text()
    assert phone.locator("#conf-queued").is_hidden()
    assert len(refused) == 1 and reports_on_server() == 0
    phone.unroute_all()

    sent = []
    phone.on("request", lambda r: sent.append(r.url) if r.method == "POST" and "/api/v1/reports" in r.url else None)
    phone.goto("/mine")  # opening the app again sends nothing before the wait is over
    phone.wait_for_selector("#outbox:not([hidden]) .outbox-item")
    expect(phone.locator(".outbox-item .waiting")).to_contain_text(LIMIT_MESSAGE)
    expect(phone.locator(".outbox-item .waiting")).to_contain_text("等待发送，")
    time.sleep(2)
    phone.clock.fast_forward("59:00")  # 59 minutes on: still waiting
    time.sleep(2)
    assert sent == [] and reports_on_server() == 0

    phone.clock.fast_forward("01:05")  # past the hour: sent by itself
    assert wait_until(lambda: reports_on_server() == 1), "the held report was not sent after its wait"
    expect(phone.locator(".outbox-item")).to_have_count(0, timeout=15000)
    time.sleep(1)
    assert len(sent) == 1 and reports_on_server() == 1
    assert db.session.scalar(select(Report)).idempotency_key == refused[0]


def test_a_failed_first_attempt_when_the_connection_returns_is_tried_again(phone, live):
    """The flake of issue 19 (rough edge 12): the one attempt made on the `online` event failed (the browser
    says "online" before its network is usable, or the server is busy) and nothing tried again before the
    next page load. Here the first attempt after the connection returns fails for certain."""
    install(phone)
    phone.context.set_offline(True)
    phone.reload()
    fill(phone)
    phone.click("#submit")
    phone.wait_for_selector("#conf-queued:not([hidden])")
    phone.goto("/mine")
    phone.wait_for_selector("#outbox:not([hidden]) .outbox-item")
    refused = []

    def fail_once(route):
        refused.append(route.request.url)
        route.abort("internetdisconnected")

    phone.context.route("**/api/v1/csrf", fail_once, times=1)
    phone.context.set_offline(False)
    deadline = time.monotonic() + 10
    while not refused and time.monotonic() < deadline:
        phone.wait_for_timeout(100)  # a Playwright call: the route's handler runs only while one waits
    assert refused, "no attempt when the connection returned"
    # As in test_upload_the_server_fails_once...: Chromium's interception cannot let later requests of this
    # service-worker-controlled page through; it is off before the page tries again (after 2 s).
    phone.context.unroute_all()
    assert wait_until(lambda: reports_on_server() == 1), "not sent after the first attempt failed"
    expect(phone.locator(".outbox-item")).to_have_count(0, timeout=15000)
    time.sleep(1)
    assert reports_on_server() == 1
