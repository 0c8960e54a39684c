"""The installable web app's server side: manifest, service worker, versioned and compressed static files."""

import json
import re

from tests import factories


def test_manifest_names_the_app_in_both_languages_and_is_installable(client):
    m = client.get("/manifest.webmanifest", headers={"Accept-Language": "en"})
    assert m.status_code == 200 and m.mimetype == "application/manifest+json"
    body = json.loads(m.data)
    assert "网格随手拍" in body["name"] and "GridSnap" in body["name"]
    assert body["display"] == "standalone" and body["start_url"] == "/report"
    assert body["theme_color"].startswith("#")
    sizes = {i["sizes"] for i in body["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in body["icons"]:
        assert client.get(icon["src"]).status_code == 200


def test_service_worker_caches_the_shell_with_versioned_urls(client):
    r = client.get("/sw.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    assert r.headers["Cache-Control"] == "no-cache"
    text = r.get_data(as_text=True)
    assets = json.loads(re.search(r"var ASSETS = (\[.*?\]);", text).group(1))
    assert any(a.startswith("/static/js/report.js?v=") for a in assets)
    assert any(a.startswith("/static/vendor/leaflet/leaflet.js?v=") for a in assets)
    assert any(a.startswith("/static/icons/elevator.svg?v=") for a in assets)  # category icons
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert json.loads(re.search(r"var PAGES = (\[.*?\]);", text).group(1)) == ["/report", "/mine"]


def test_static_files_are_versioned_cached_for_a_year_and_compressed(client, app):
    factories.make_user("rider1")
    factories.log_in(client, "rider1")
    page = client.get("/report").get_data(as_text=True)
    url = re.search(r'src="(/static/js/report\.js\?v=[0-9a-f]{12})"', page).group(1)
    r = client.get(url, headers={"Accept-Encoding": "br, gzip"})
    assert r.status_code == 200
    assert r.headers["Content-Encoding"] in ("br", "gzip")
    assert "max-age=31536000" in r.headers["Cache-Control"]
    html = client.get("/report", headers={"Accept-Encoding": "gzip"})
    assert html.headers["Content-Encoding"] == "gzip"


def test_csrf_token_endpoint_needs_a_login_and_is_never_cached(client, app):
    assert client.get("/api/v1/csrf", headers={"Accept": "application/json"}).status_code == 401
    rider = factories.make_user("rider1")
    factories.log_in(client, "rider1")
    r = client.get("/api/v1/csrf")
    assert r.status_code == 200 and r.json["csrf_token"]
    assert r.json["user"] == rider.id  # the outbox sends each rider's reports under their own login only
    assert r.headers["Cache-Control"] == "no-store"


def test_the_service_worker_keeps_the_providers_tiles_and_may_reach_only_them(client, app):
    app.config.update(MAP_PROVIDER="tianditu", TIANDITU_KEY="k", TILE_CACHE_MB=30)
    try:
        r = client.get("/sw.js")
        body = r.get_data(as_text=True)
        assert "https://t0.tianditu.gov.cn" in body and f"var TILE_BUDGET = {30 * 1024 * 1024};" in body
        policy = r.headers["Content-Security-Policy"]
        assert "connect-src 'self' https://t0.tianditu.gov.cn" in policy and "https://t7.tianditu.gov.cn" in policy
        assert "connect-src 'self';" in client.get("/login").headers["Content-Security-Policy"], "pages: no wider"
        before = body
        app.config["TILE_CACHE_MB"] = 5
        assert client.get("/sw.js").get_data(as_text=True) != before, "a new budget is a new worker"
    finally:
        app.config.update(MAP_PROVIDER="", TIANDITU_KEY="", TILE_CACHE_MB=30)
