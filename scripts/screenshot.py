"""Take the README's screenshots in headless Chromium: the phone report page (docs/phone-report.png).

Runs the app with the demo data on a temporary SQLite file; map tiles are drawn locally (no internet).
    .venv/bin/python scripts/screenshot.py
"""

import io
import os
import re
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PIL import Image, ImageDraw  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tile() -> bytes:
    img = Image.new("RGB", (256, 256), (236, 240, 234))
    d = ImageDraw.Draw(img)
    d.line([(0, 90), (256, 120)], fill=(255, 255, 255), width=14)
    d.line([(150, 0), (130, 256)], fill=(255, 255, 255), width=10)
    d.rectangle([20, 150, 100, 230], fill=(214, 224, 208))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def main() -> None:
    from playwright.sync_api import sync_playwright

    from app import create_app

    base = tempfile.mkdtemp(prefix="gs-shot-")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{base}/demo.db",
            "UPLOAD_DIR": f"{base}/uploads",
            "SECRET_KEY": "shot",
            "RATELIMIT_ENABLED": False,
            "GEOCODER": "",
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        from app.demo import load_demo

        upgrade()
        load_demo()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    png = tile()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        ctx = browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            base_url=url,
            locale="zh-CN",
            permissions=["geolocation"],
            geolocation={"latitude": 29.2254, "longitude": 103.9507, "accuracy": 8},
        )
        page = ctx.new_page()
        page.route(
            re.compile(r"^https?://(?!127\.0\.0\.1)"),
            lambda r: r.fulfill(status=200, content_type="image/png", body=png),
        )
        page.goto("/login")
        page.fill("input[name=username]", "rider_zhang")
        page.fill("input[name=password]", "gridsnap-demo")
        page.click("button[type=submit]")
        page.goto("/report")
        page.set_input_files("#photo-input", os.path.join(ROOT, "tests/fixtures/photos/gps_google_pixel.jpg"))
        page.wait_for_selector("#previews li img")
        page.click("label.tile:has(input[value=fire_lane_blocked])")
        page.wait_for_selector(".location-device")
        page.wait_for_timeout(800)
        page.screenshot(path=os.path.join(ROOT, "docs", "phone-report.png"), full_page=True)
        browser.close()
    server.shutdown()
    print("docs/phone-report.png written")


if __name__ == "__main__":
    main()
