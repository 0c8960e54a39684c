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
