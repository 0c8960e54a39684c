"""End-to-end fixtures: the app served by a real HTTP server in a thread, and headless Chromium
(Playwright) with a phone-sized context whose geolocation is granted and fixed.

The live app runs on its own SQLite file (migrated, seeded); each test gets emptied tables.
"""

import base64
import os
import re
import threading

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from tests.conftest import _clean, need

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
QIANWEI = {"latitude": 29.2254, "longitude": 103.9507, "accuracy": 12}
PHOTOS = "tests/fixtures/photos/"
# A 4032x2012 phone photo: the page must shrink it to 1600 px before upload.
SAMSUNG = PHOTOS + "gps_samsung_sm-g930f_4032x2012.jpg"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A microphone that plays a tone and no permission prompt: voice notes are recorded in the tests.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]

pytestmark = pytest.mark.e2e


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("live")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(base / "live.db"),
            "UPLOAD_DIR": str(base / "uploads"),
            "SECRET_KEY": "e2e",
            "WTF_CSRF_ENABLED": True,
            "RATELIMIT_ENABLED": False,
            "GEOCODER": "",
            "SERVER_NAME": None,
            # Tiles come from the page's route (a blank tile): the service worker's own fetches would go out to
            # the real tile server, which these tests do not reach. test_tile_cache.py turns the cache on.
            "TILE_CACHE_MB": 0,
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    return app


@pytest.fixture(scope="session")
def live_server(live_app):
    server = LiveServer(live_app).start()
    yield server
    server.stop()


@pytest.fixture
def live(live_app, live_server):
    """The live server with emptied tables; yields the server (its app context is active for set-up)."""
    with live_app.app_context():
        _clean(live_app)
        yield live_server
        db.session.remove()


@pytest.fixture(scope="session")
def browser():
    need(os.path.exists(CHROMIUM), f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a test dependency
        need(False, "Playwright for Python is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def _no_context_outlives_its_test(request):
    """Close what a test left open: a page left behind keeps polling the live server (the bell, every few
    seconds) while later tests run, and its requests' log lines land in their captures."""
    yield
    if "browser" in request.fixturenames:
        left = request.getfixturevalue("browser").contexts
        for context in list(left):
            context.close()


def phone_context(browser, base_url: str, *, geolocation: bool = True, locale: str = "zh-CN", **extra):
    """A phone-sized context; geolocation granted at a fixed point in Qianwei, or denied."""
    options = dict(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        base_url=base_url,
        locale=locale,
        user_agent=(
            "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"
        ),
    )
    if geolocation:
        options.update(geolocation=QIANWEI, permissions=["geolocation"])
    options.update(extra)
    context = browser.new_context(**options)
    context.set_default_timeout(15000)
    return context


class ConsoleErrors(list):
    """Console errors and uncaught page errors seen on a page."""

    def watch(self, page):
        page.on("console", lambda m: self.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.append(str(e)))
        return self


@pytest.fixture
def phone(browser, live):
    """A phone page with geolocation granted; console errors collected in page.errors."""
    context = phone_context(browser, live.url)
    page = context.new_page()
    page.errors = ConsoleErrors().watch(page)
    yield page
    context.close()


@pytest.fixture
def phone_no_geo(browser, live):
    """A phone page whose geolocation permission is not granted (the prompt is refused)."""
    context = phone_context(browser, live.url, geolocation=False)
    page = context.new_page()
    page.errors = ConsoleErrors().watch(page)
    yield page
    context.close()


def log_in_page(page, username: str, password: str) -> None:
    """Log a browser page in through the password form (/login/password)."""
    page.goto("/login/password")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


# A 1x1 PNG answered for every map tile (and anything else off the live server): the tests run offline.
BLANK_TILE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def offline_tiles(page) -> None:
    """Answer every request that leaves the live server (map tiles) with a blank tile."""
    page.route(
        re.compile(r"^https?://(?!127\.0\.0\.1).*"),
        lambda route: route.fulfill(status=200, content_type="image/png", body=BLANK_TILE),
    )
