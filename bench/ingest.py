"""Photo ingest speed: the project's pipeline vs. the naive one and a plain 1/2-draft decode.

Generates a realistic 12 MP phone JPEG (4032x3024, textured, EXIF orientation 6 + GPS) in a
temporary folder, then times everything in the same run and prints medians and ratios.
Run: .venv/bin/python bench/ingest.py [--runs N]
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import statistics
import sys
import tempfile
import time

from PIL import Image, ImageChops, ImageDraw, ImageOps, ImageStat

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.reports.photos import DISPLAY_EDGE, QUALITY, THUMB_EDGE, process_photo  # noqa: E402

WIDTH, HEIGHT = 4032, 3024
NAIVE_FLOOR = 3.5  # naive / pipeline must be at least this
DRAFT_CEILING = 2.5  # pipeline / plain 1/2-draft decode must be at most this


def make_photo(path: str, seed: int = 7) -> int:
    """A 4032x3024 JPEG that compresses like a real photo: soft shapes, hard edges and sensor noise."""
    rng = random.Random(seed)
    size = (WIDTH, HEIGHT)
    # soft light: gradients at different angles per channel, upscaled from small tiles
    bands = [
        Image.linear_gradient("L").rotate(angle, expand=False).resize(size, Image.Resampling.BICUBIC)
        for angle in (0, 35, 100)
    ]
    scene = Image.merge("RGB", bands)
    draw = ImageDraw.Draw(scene)
    for _ in range(400):  # buildings, cars, signs: hard edges
        x0, y0 = rng.randrange(WIDTH), rng.randrange(HEIGHT)
        box = (x0, y0, x0 + rng.randrange(20, 500), y0 + rng.randrange(20, 400))
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.rectangle if rng.random() < 0.6 else draw.ellipse)(box, fill=colour)
    for _ in range(120):
        draw.line(
            [(rng.randrange(WIDTH), rng.randrange(HEIGHT)) for _ in range(2)],
            fill=tuple(rng.randrange(256) for _ in range(3)),
            width=rng.randrange(1, 6),
        )
    # texture at every scale like real scenes (1/f-ish), then light sensor noise
    for divisor, sigma in ((64, 30), (16, 20), (4, 9), (2, 5)):
        small = (WIDTH // divisor, HEIGHT // divisor)
        layer = Image.merge("RGB", [Image.effect_noise(small, sigma)] * 2 + [Image.effect_noise(small, sigma)])
        scene = ImageChops.add(scene, layer.resize(size, Image.Resampling.BICUBIC), scale=1.0, offset=-128)
    noise = Image.merge("RGB", [Image.effect_noise(size, 2) for _ in range(3)])
    scene = ImageChops.add(scene, noise, scale=1.0, offset=-128)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 12"
    exif[0x0112] = 6  # stored landscape, shown portrait
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (29.0, 12.0, 32.04), 3: "E", 4: (103.0, 57.0, 4.32)})
    scene.save(path, "JPEG", quality=92, exif=exif)
    return os.path.getsize(path)


def naive(data: bytes) -> tuple[bytes, bytes, Image.Image]:
    """What most tutorials do: full decode, exif_transpose, LANCZOS to 1600, thumbnail, q82."""
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    scale = DISPLAY_EDGE / max(im.size)
    display = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
    thumb = display.copy()
    thumb.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.LANCZOS)
    out, tout = io.BytesIO(), io.BytesIO()
    display.save(out, "JPEG", quality=QUALITY)
    thumb.save(tout, "JPEG", quality=QUALITY)
    return out.getvalue(), tout.getvalue(), display


def draft_half(data: bytes) -> Image.Image:
    """The floor: decode at 1/2 DCT scale and nothing else."""
    im = Image.open(io.BytesIO(data))
    im.draft("RGB", (im.width // 2, im.height // 2))
    im.load()
    return im


def medians_ms(fns: dict, data: bytes, runs: int) -> dict:
    """Median time of each function, interleaved run by run so load on the machine hits all alike."""
    times: dict = {name: [] for name in fns}
    for fn in fns.values():
        fn(data)  # warm up caches and lazy imports
    for _ in range(runs):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn(data)
            times[name].append((time.perf_counter() - t0) * 1000)
    return {name: statistics.median(ts) for name, ts in times.items()}


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB between two RGB images of one size."""
    rms = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).rms
    mse = sum(r * r for r in rms) / len(rms)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "phone-12mp.jpg")
        size = make_photo(path)
        with open(path, "rb") as fh:
            data = fh.read()
    print(f"photo: {WIDTH}x{HEIGHT} JPEG, {size / 1e6:.2f} MB, EXIF orientation 6 + GPS; median of {args.runs} runs")

    t = medians_ms({"draft": draft_half, "naive": naive, "pipeline": process_photo}, data, args.runs)
    t_draft, t_naive, t_pipe = t["draft"], t["naive"], t["pipeline"]

    result = process_photo(data)
    naive_jpeg, _naive_thumb, naive_display = naive(data)
    ours = Image.open(io.BytesIO(result.display))
    assert ours.size == naive_display.size, (ours.size, naive_display.size)
    assert result.gps is not None
    quality = psnr(ours, Image.open(io.BytesIO(naive_jpeg)))
    quality_raw = psnr(ours, naive_display)

    print(f"plain 1/2-draft decode : {t_draft:7.1f} ms")
    print(f"naive pipeline         : {t_naive:7.1f} ms")
    print(
        f"project pipeline       : {t_pipe:7.1f} ms  ({ours.width}x{ours.height} display, "
        f"{len(result.display) / 1e3:.0f} KB + {len(result.thumb) / 1e3:.0f} KB thumb)"
    )
    speedup, vs_draft = t_naive / t_pipe, t_pipe / t_draft
    ok1, ok2 = speedup >= NAIVE_FLOOR, vs_draft <= DRAFT_CEILING
    print(f"naive / pipeline       : {speedup:5.2f}x  (target >= {NAIVE_FLOOR})  {'OK' if ok1 else 'MISSED'}")
    print(f"pipeline / 1/2-draft   : {vs_draft:5.2f}x  (target <= {DRAFT_CEILING})  {'OK' if ok2 else 'MISSED'}")
    print(
        f"PSNR pipeline vs naive : {quality:5.1f} dB (both stored JPEGs); "
        f"{quality_raw:.1f} dB vs the naive resize before encoding"
    )
    return 0 if ok1 and ok2 else 1


if __name__ == "__main__":
    sys.exit(main())
