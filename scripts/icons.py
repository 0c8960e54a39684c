"""Draw the app icon (static/icons/app.svg) as PNGs for the web app manifest: 192, 512, maskable 512."""

import os

from PIL import Image, ImageDraw

BLUE, WHITE = (11, 92, 173), (255, 255, 255)
OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static", "icons")


def draw(size: int, maskable: bool = False) -> Image.Image:
    img = Image.new("RGB", (size, size), BLUE if maskable else WHITE)
    d = ImageDraw.Draw(img)
    s = size / 64
    if maskable:  # the safe zone is the middle 80 %: shrink the drawing around the centre
        s *= 0.8
    off = (size - 64 * s) / 2

    def box(x0, y0, x1, y1):
        return [off + x0 * s, off + y0 * s, off + x1 * s, off + y1 * s]

    if not maskable:
        img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        d = ImageDraw.Draw(img)
        d.rounded_rectangle(box(0, 0, 64, 64), radius=14 * s, fill=BLUE)
    d.rounded_rectangle(box(12, 20, 52, 50), radius=6 * s, fill=WHITE)
    d.rounded_rectangle(box(24, 14, 40, 22), radius=3 * s, fill=WHITE)
    d.ellipse(box(23, 26, 41, 44), fill=BLUE)
    d.ellipse(box(27.5, 30.5, 36.5, 39.5), fill=WHITE)
    return img


if __name__ == "__main__":
    draw(192).save(os.path.join(OUT, "app-192.png"), optimize=True)
    draw(512).save(os.path.join(OUT, "app-512.png"), optimize=True)
    draw(512, maskable=True).save(os.path.join(OUT, "app-maskable-512.png"), optimize=True)
    print("icons written to", OUT)
