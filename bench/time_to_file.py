"""How soon a rider is free, and how soon the reference arrives, filing a 12 MP photo over a weak uplink.

Serves the app (SQLite, one rider) in this process, opens /report in headless Chromium on a phone with
Chromium's network emulation (400 kbit/s up, 1.6 Mbit/s down, 150 ms latency), picks a noisy 12 MP photo
(4000x3000, made here), and taps "Send" on the real page. It measures from the tap: when the page says the
report is saved on the phone (the rider is free), and when the reference arrives; and the bytes the upload
carried (its Content-Length, seen by the server). The floor, in the same run over the same link: the same
photo as a 2048 px JPEG (quality 90) posted to /api/v1/reports by the page's own fetch.

Targets: free <= 2 s, reference <= 8 s, bytes <= 320 KB, reference >= 2x sooner than the floor.

    .venv/bin/python bench/time_to_file.py
"""

import base64
import io
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PIL import Image, ImageFilter  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
LINK = {"offline": False, "latency": 150, "uploadThroughput": 400_000 / 8, "downloadThroughput": 1_600_000 / 8}
QIANWEI = {"latitude": 29.2254, "longitude": 103.9507, "accuracy": 12}
FREE_S, REFERENCE_S, MAX_BYTES, MIN_SPEEDUP = 2.0, 8.0, 320 * 1024, 2.0


def noisy_photo(path: str) -> None:
    """A 12 MP photo that compresses as badly as a real one: a blurred scene under sensor-like noise."""
    scene = Image.radial_gradient("L").resize((4000, 3000)).filter(ImageFilter.GaussianBlur(40))
    channels = [
        Image.blend(scene, Image.effect_noise((4000, 3000), sigma).convert("L"), 0.35) for sigma in (40, 50, 60)
    ]
    Image.merge("RGB", channels).save(path, "JPEG", quality=92)


def floor_jpeg(path: str) -> bytes:
    """The photo as a phone app without shrinking would send it: 2048 px, JPEG quality 90."""
    im = Image.open(path)
    im.thumbnail((2048, 2048))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)
    return out.getvalue()


def serve(uploads: list[int]):
    from bench.page_weight import rider_app

    app = rider_app("gs-ttf-")
    inner = app.wsgi_app

    def counting(environ, start_response):  # the bytes each report upload carried
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") == "/api/v1/reports":
            uploads.append(int(environ.get("CONTENT_LENGTH") or 0))
        return inner(environ, start_response)

    app.wsgi_app = counting
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


FLOOR_JS = """async (b64) => {
  const bin = atob(b64), bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const token = (await (await fetch('/api/v1/csrf', {credentials: 'same-origin'})).json()).csrf_token;
  const fd = new FormData();
  fd.append('category', 'illegal_parking'); fd.append('lat', '29.2254'); fd.append('lon', '103.9507');
  fd.append('photos', new Blob([bytes], {type: 'image/jpeg'}), 'photo.jpg');
  const t = performance.now();
  const r = await fetch('/api/v1/reports', {method: 'POST', body: fd, credentials: 'same-origin',
                                           headers: {'X-CSRFToken': token, 'Accept': 'application/json'}});
  await r.json();
  return [r.status, (performance.now() - t) / 1000];
}"""


def main() -> int:
    from playwright.sync_api import sync_playwright

    photo = os.path.join(tempfile.mkdtemp(prefix="gs-ttf-photo-"), "noisy-12mp.jpg")
    noisy_photo(photo)
    uploads: list[int] = []
    server, base = serve(uploads)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            base_url=base,
            locale="zh-CN",
            geolocation=QIANWEI,
            permissions=["geolocation"],
        )
        context.set_default_timeout(120_000)
        page = context.new_page()
        page.route("**/*", lambda r: r.abort() if "127.0.0.1" not in r.request.url else r.continue_())
        page.goto("/login/password")
        page.fill("input[name=username]", "rider1")
        page.fill("input[name=password]", "bench-password-1")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto("/report")
        page.wait_for_selector(".location-device")
        page.set_input_files("#photo-input", photo)
        page.wait_for_selector("#previews li img")
        page.click("label.tile:has(input[value=illegal_parking])")
        page.wait_for_selector("#submit:not([disabled])")
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", LINK)

        tap = time.perf_counter()
        page.click("#submit")
        page.wait_for_selector("#conf-sending")
        free = time.perf_counter() - tap
        page.wait_for_selector("#conf-reference-line:not([hidden])")
        reference = time.perf_counter() - tap
        sent = uploads[-1]

        status, floor = page.evaluate(FLOOR_JS, base64.b64encode(floor_jpeg(photo)).decode())
        floor_bytes = uploads[-1]
        browser.close()
    server.shutdown()
    speedup = floor / reference
    print(f"photo: 4000x3000 noisy, {os.path.getsize(photo) / 1024:.0f} KB; link: 400 kbit/s up, 1.6 down, 150 ms")
    print(f"rider free after   {free:6.2f} s   (target <= {FREE_S:g} s)")
    print(f"reference after    {reference:6.2f} s   (target <= {REFERENCE_S:g} s)")
    print(f"bytes sent         {sent / 1024:6.0f} KB  (target <= {MAX_BYTES // 1024} KB)")
    print(f"floor: 2048 px q90 {floor:6.2f} s   ({floor_bytes / 1024:.0f} KB, HTTP {status})")
    print(f"reference {speedup:.1f}x sooner than the floor (target >= {MIN_SPEEDUP:g}x)")
    ok = free <= FREE_S and reference <= REFERENCE_S and sent <= MAX_BYTES and speedup >= MIN_SPEEDUP and status == 201
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
