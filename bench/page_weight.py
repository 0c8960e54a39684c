"""How many bytes a rider's phone transfers to open the report page the first time.

Serves the app (SQLite, one rider) in this process, opens /report in headless Chromium with an empty
cache on a 390x844 phone, and adds up the bytes on the wire (compressed, headers included) of every
response except map tiles and photos, as Chromium's DevTools protocol reports them. Then prints them
against the 150 KB budget, next to what the same files would weigh uncompressed, and what the
service worker fetches on top to keep the page for offline use.

    .venv/bin/python bench/page_weight.py
"""

import os
import sys
import tempfile
import threading
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from werkzeug.serving import make_server  # noqa: E402

BUDGET = 150 * 1024
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def rider_app(prefix: str):
    """A fresh app on a temporary SQLite database (migrated, reference data, rider1 / bench-password-1)."""
    from app import create_app
    from app.auth.services import create_user
    from app.extensions import db

    base = tempfile.mkdtemp(prefix=prefix)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{base}/bench.db",
            "UPLOAD_DIR": f"{base}/uploads",
            "SECRET_KEY": "bench",
            "RATELIMIT_ENABLED": False,
            "GEOCODER": "",
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        from app.catalog import seed_reference_data

        upgrade()
        seed_reference_data()
        create_user("rider1", "bench-password-1", "rider")
        db.session.commit()
    return app


def serve():
    app = rider_app("gs-weight-")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def excluded(url: str) -> bool:
    parts = urlparse(url)
    return parts.hostname not in ("127.0.0.1", "localhost") or parts.path.startswith("/photos/")


def main() -> int:
    from playwright.sync_api import sync_playwright

    server, base = serve()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            base_url=base,
            locale="zh-CN",
            geolocation={"latitude": 29.2254, "longitude": 103.9507, "accuracy": 10},
            permissions=["geolocation"],
        )
        # Log in without loading any page, so the report page starts from an empty cache.
        login = context.request.get("/login").text()
        token = login.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        context.request.post("/login", form={"csrf_token": token, "username": "rider1", "password": "bench-password-1"})
        page = context.new_page()
        page.route("**/*", lambda route: route.abort() if excluded(route.request.url) else route.continue_())
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        urls, wire, raw = {}, {}, {}
        cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
        cdp.on(
            "Network.dataReceived",
            lambda e: raw.__setitem__(e["requestId"], raw.get(e["requestId"], 0) + e["dataLength"]),
        )
        cdp.on("Network.loadingFinished", lambda e: wire.__setitem__(e["requestId"], e["encodedDataLength"]))
        page.goto("/report", wait_until="networkidle")
        page.wait_for_timeout(500)
        counted = {rid: n for rid, n in wire.items() if rid in urls and not excluded(urls[rid])}
        total, uncompressed = sum(counted.values()), sum(raw.get(rid, 0) for rid in counted)
        print(f"{'bytes':>8}  {'raw':>8}  url")
        for rid, n in sorted(counted.items(), key=lambda kv: -kv[1]):
            print(f"{n:8d}  {raw.get(rid, 0):8d}  {urlparse(urls[rid]).path}")
        # What the service worker downloads on top to keep the page for offline use.
        sw = page.evaluate("""async () => {
            if (!navigator.serviceWorker) return null;
            await navigator.serviceWorker.ready;
            return performance.getEntriesByType('resource').length; }""")
        print(
            f"\nreport page first load: {total / 1024:.1f} KB on the wire ({uncompressed / 1024:.1f} KB "
            f"uncompressed, {len(counted)} responses); budget {BUDGET / 1024:.0f} KB "
            f"-> {total / BUDGET:.2f} of the budget ({'OK' if total <= BUDGET else 'OVER'})"
        )
        print(
            f"compression ratio: {total / max(uncompressed, 1):.2f} of the uncompressed bytes; "
            f"service worker ready: {sw is not None}"
        )
        browser.close()
    server.shutdown()
    return 0 if total <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
