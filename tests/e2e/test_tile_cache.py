"""The service worker keeps the map tiles a rider has seen, within its budget, least recently used out first,
and the map of their usual area opens with no network."""

import io
from http.server import BaseHTTPRequestHandler

import pytest
from PIL import Image

from tests import factories
from tests.e2e.test_offline import SHELL_CACHED, wait_until
from tests.stand_in import stand_in

pytestmark = pytest.mark.e2e


def _png() -> bytes:
    """A 256 px tile of noise (~59 KB that does not compress): ten of them fill a 0.6 MB budget."""
    import random

    out = io.BytesIO()
    Image.frombytes("L", (256, 80), random.Random(1).randbytes(256 * 80)).resize((256, 256)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


class Tiles(BaseHTTPRequestHandler):
    """A tile server on another origin (as OpenStreetMap or Tianditu would be)."""

    def do_GET(self):  # noqa: N802
        self.server.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args):
        pass


CACHED = """async () => {
  const cache = await caches.open('gridsnap-tiles');
  return (await cache.keys()).map(function (r) { return new URL(r.url).pathname; });
}"""

MAP_TO = """([lat, lon, zoom]) => new Promise(function (done) {
  const map = document.getElementById('map').gridsnapMap;
  map.once('moveend', function () { setTimeout(done, 50); });
  map.setView([lat, lon], zoom, { animate: false });
})"""

LOADED = """() => Array.prototype.every.call(document.querySelectorAll('#map .leaflet-tile'),
  function (img) { return img.complete; })"""


def test_tiles_are_kept_within_the_budget_and_open_offline(live, live_app, browser):
    from tests.e2e.conftest import phone_context

    with stand_in(Tiles) as tiles:
        live_app.config.update(TILE_URL=tiles.base + "/{z}/{x}/{y}.png", TILE_CACHE_MB=0.6)  # 10 tiles of ~59 KB
        context = phone_context(browser, live.url)
        page = context.new_page()
        try:
            factories.make_user("rider1", password=factories.PASSWORD)
            from tests.e2e.conftest import log_in_page

            log_in_page(page, "rider1", factories.PASSWORD)
            page.goto("/report")
            assert wait_until(lambda: page.evaluate(SHELL_CACHED)), "the service worker did not take the page"
            page.reload()  # controlled by the worker from here
            page.wait_for_selector("#map .leaflet-tile", state="attached")
            for step in range(6):  # the rider's map wanders over the county: many more tiles than the budget
                page.evaluate(MAP_TO, [29.20 + step * 0.05, 103.90 + step * 0.05, 15])
                page.wait_for_function(LOADED)
            assert wait_until(lambda: 0 < len(page.evaluate(CACHED)) <= 10), page.evaluate(CACHED)
            assert len(set(tiles.requests)) > 20, "more tiles were seen than are kept"

            # Back to the first area, then the last: the last area's tiles are the ones kept.
            page.evaluate(MAP_TO, [29.20 + 5 * 0.05, 103.90 + 5 * 0.05, 15])
            page.wait_for_function(LOADED)
            kept = page.evaluate(CACHED)
            shown = page.evaluate(
                """() => Array.prototype.map.call(document.querySelectorAll('#map .leaflet-tile'),
                     function (img) { return new URL(img.src).pathname; })"""
            )
            assert set(kept) & set(shown), "the tiles on screen are among those kept"

            # No network: a kept tile still comes (from the phone), one never seen does not.
            context.set_offline(True)
            fetched = page.evaluate(
                """(urls) => Promise.all(urls.map(function (u) { return new Promise(function (done) {
                     const img = new Image();
                     img.onload = function () { done('loaded'); };
                     img.onerror = function () { done('failed'); };
                     img.src = u; }); }))""",
                [tiles.base + kept[-1], tiles.base + "/3/1/1.png"],
            )
            assert fetched == ["loaded", "failed"], fetched
        finally:
            context.set_offline(False)
            context.close()
            live_app.config.update(TILE_URL="https://tile.openstreetmap.org/{z}/{x}/{y}.png", TILE_CACHE_MB=0)


KEPT_AND_ORDER = """async () => {
  const tiles = await caches.open('gridsnap-tiles');
  const kept = (await tiles.keys()).map(function (r) { return new URL(r.url).pathname; });
  const hit = await (await caches.open('gridsnap-tile-order')).match('/tile-order.json');
  const order = hit ? (await hit.json()).map(function (u) { return new URL(u).pathname; }) : [];
  return [kept, order, await caches.keys()];
}"""

# As the map asks for a tile: an image (the page's own policy lets it load images, not fetch, from tile servers).
FETCH = """(url) => new Promise(function (done) {
  const img = new Image();
  img.onload = function () { done(200); };
  img.onerror = function () { done(0); };
  img.src = url;
})"""


def test_the_use_order_outlives_a_stopped_worker_and_the_tiles_outlive_a_new_version(live, live_app, browser):
    """The browser stops an idle service worker whenever it likes: the tile it starts again with must still drop
    the least recently used tile, not the first one stored. A new version of the app keeps the rider's tiles."""
    from tests.e2e.conftest import log_in_page, phone_context

    with stand_in(Tiles) as tiles:
        # Room for exactly ten tiles: the eleventh pushes one out.
        live_app.config.update(TILE_URL=tiles.base + "/{z}/{x}/{y}.png", TILE_CACHE_MB=10.5 * len(PNG) / 2**20)
        context = phone_context(browser, live.url)
        page = context.new_page()
        try:
            factories.make_user("rider1", password=factories.PASSWORD)
            log_in_page(page, "rider1", factories.PASSWORD)
            page.goto("/notifications")  # no map asking for tiles of its own
            assert wait_until(lambda: page.evaluate(SHELL_CACHED)), "the service worker did not take the page"

            def state():
                return page.evaluate(KEPT_AND_ORDER)

            assert state()[0] == []
            urls = [f"/9/{n}/1.png" for n in range(1, 12)]
            for n, url in enumerate(urls[:10], start=1):
                assert page.evaluate(FETCH, tiles.base + url) == 200
                assert wait_until(lambda n=n: len(state()[0]) == n), state()
            page.reload()  # a new document: the image is asked for again, not taken from the page's memory
            assert page.evaluate(FETCH, tiles.base + urls[0]) == 200  # seen again: now the most recently used
            assert wait_until(lambda: state()[1][-1:] == [urls[0]]), state()  # the order is written down
            assert len([r for r in tiles.requests if r in urls]) == 10, "the second look came from the phone"

            cdp = context.new_cdp_session(page)
            statuses = []
            cdp.on(
                "ServiceWorker.workerVersionUpdated",
                lambda e: statuses.extend(v["runningStatus"] for v in e["versions"]),
            )
            cdp.send("ServiceWorker.enable")
            cdp.send("ServiceWorker.stopAllWorkers")
            # (the sync API hands events over while it talks to the browser: hence the evaluate)
            assert wait_until(lambda: page.evaluate("0") == 0 and statuses[-1:] == ["stopped"]), statuses

            assert page.evaluate(FETCH, tiles.base + urls[10]) == 200  # a new worker: its memory is empty
            assert wait_until(lambda: urls[10] in state()[0]), state()
            kept = state()[0]
            assert len(kept) == 10 and urls[0] in kept and urls[1] not in kept, kept

            # A new version of the app (here: another budget) replaces the pages' cache, not the tiles.
            old_caches = state()[2]
            live_app.config.update(TILE_CACHE_MB=11.5 * len(PNG) / 2**20)
            page.evaluate("() => navigator.serviceWorker.getRegistration().then(function (r) { return r.update(); })")
            assert wait_until(lambda: not set(old_caches) >= set(state()[2])), (old_caches, state()[2])
            assert wait_until(
                lambda: (
                    len([c for c in state()[2] if c not in old_caches]) == 1
                    and (len(set(old_caches) - set(state()[2])) == 1)
                )
            ), (old_caches, state()[2])
            assert sorted(state()[0]) == sorted(kept), "the tiles were kept across versions"
        finally:
            context.close()
            live_app.config.update(TILE_URL="https://tile.openstreetmap.org/{z}/{x}/{y}.png", TILE_CACHE_MB=0)
