"""The photo pipeline: validate with Pillow, read GPS, orient, downscale, re-encode without metadata.

Fast path for JPEG: read the EXIF header first, then decode with draft (DCT) scaling
to the smallest scale at least as large as the display size (box given in the stored orientation),
one resize, then rotate the small image; the thumbnail comes from the display image.

Every other picture (PNG, WebP, HEIC, and a progressive JPEG's coefficients) is held whole while it is
decoded, so its pixel count is capped from the header, before any decoding, at MAX_DECODE_PIXELS (a
quarter of it for WebP); it is then converted and shrunk a band of rows at a time, never as a second
full-size copy.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageFile, UnidentifiedImageError

from app.errors import PhotoRejected

try:  # HEIC from iPhones
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    pass

DISPLAY_EDGE = 1600
THUMB_EDGE = 320
QUALITY = 82
MAX_PIXELS = 50_000_000  # any photo; a sequential JPEG is decoded at a DCT scale, a strip at a time
MAX_DECODE_PIXELS = 24_000_000  # any other picture, decoded whole (GRIDSNAP_MAX_DECODE_MP)
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "HEIF"}
OPENERS = ["JPEG", "PNG", "WEBP", "HEIF"]  # the only Pillow plugins that read an upload (MPO is JPEG's)
# Pillow's WebP decoder holds two canvases and a copy of the frame besides the picture: a quarter of the pixels.
DECODE_SHARE = {"WEBP": 4}
BAND_PIXELS = 1 << 21  # source pixels converted to RGB at a time when a whole picture is shrunk

# Pillow's own bomb check would warn at ~89 MP; ours refuses above the limits before decoding.
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False

_TRANSPOSE = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


@dataclass
class ProcessedPhoto:
    """A photo ready to store: display and thumbnail JPEG bytes, sizes, and the EXIF GPS if any."""

    display: bytes
    thumb: bytes
    width: int
    height: int
    gps: tuple[float, float] | None
    source_format: str
    taken_at: datetime | None = None  # EXIF DateTimeOriginal: aware if the photo says its offset, else naive


Upload = bytes | IO[bytes]  # the bytes, or a seekable binary file such as an upload's stream


def check_photo(data: Upload, max_pixels: int = MAX_PIXELS, max_decode_pixels: int = MAX_DECODE_PIXELS) -> None:
    """Refuse from the header alone, decoding no pixel, what process_photo would refuse before decoding."""
    _open(data, max_pixels, max_decode_pixels)


def process_photo(
    data: Upload, max_pixels: int = MAX_PIXELS, max_decode_pixels: int = MAX_DECODE_PIXELS
) -> ProcessedPhoto:
    """Validate and re-encode one uploaded photo, or raise PhotoRejected (400 or 415)."""
    im = _open(data, max_pixels, max_decode_pixels)
    exif = _exif(im)
    gps = gps_from_exif(exif)
    # pillow-heif applies HEIF's own rotation on decode; EXIF orientation is for the others.
    orientation = exif.get(0x0112, 1) if im.format != "HEIF" else 1
    try:
        display = _to_rgb(_decode_scaled(im))
        for op in _TRANSPOSE.get(orientation if isinstance(orientation, int) else 1, ()):
            display = display.transpose(op)
        thumb = _thumbnail(display)
        return ProcessedPhoto(
            display=_encode(display),
            thumb=_encode(thumb),
            width=display.width,
            height=display.height,
            gps=gps,
            source_format=im.format,
            taken_at=taken_from_exif(exif),
        )
    except Exception:
        # Whatever a damaged file makes the decoders raise, the rider gets a 400, never a 500.
        raise PhotoRejected(
            _l("The photo is damaged or incomplete. Take it again and resend."), code="corrupt_photo"
        ) from None


def _open(data: Upload, max_pixels: int, max_decode_pixels: int) -> Image.Image:
    """Identify the file (headers only), refusing what is not an accepted photo format or has too many pixels."""
    fp = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    if fp.seek(0, io.SEEK_END) == 0:
        raise PhotoRejected(_l("The photo is empty."), code="empty_photo")
    fp.seek(0)
    try:
        im = Image.open(fp, formats=OPENERS)
    except UnidentifiedImageError:
        im = None
    except Exception:
        raise PhotoRejected(_l("The photo is damaged and cannot be read."), code="corrupt_photo") from None
    if im is None or im.format not in ACCEPTED_FORMATS:
        raise PhotoRejected(
            _l("This file is not a photo we can read. Send a JPEG, PNG, WebP or HEIC photo."),
            code="unsupported_photo",
            status=415,
        )
    width, height = im.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise PhotoRejected(_l("The photo has too many pixels (at most 50 megapixels)."), code="too_many_pixels")
    limit = max_decode_pixels // DECODE_SHARE.get(im.format, 1)
    if width * height > limit and not _decodes_in_strips(im, fp):
        raise PhotoRejected(
            _l(
                "The photo is too large to process (at most %(n)s megapixels for this kind of "
                "photo). Send a smaller photo or a JPEG from the camera.",
                n=f"{limit / 1e6:g}",
            ),
            code="image_too_large",
        )
    return im


# Start-of-frame markers (not DHT, JPG, DAC), and the sequential DCT ones that libjpeg decodes a strip at a time.
_FRAMES = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_SEQUENTIAL_FRAMES = {0xC0, 0xC1, 0xC9}


def _decodes_in_strips(im: Image.Image, fp: IO[bytes]) -> bool:
    """Whether decoding holds only a strip of the picture: a JPEG whose first scan is sequential and carries
    every component. libjpeg keeps every DCT coefficient of a progressive JPEG, or of one with a scan per
    component, whatever the draft scale (up to 6 bytes a pixel); PNG, WebP and HEIC are decoded whole."""
    if im.format not in ("JPEG", "MPO"):
        return False
    fp.seek(2)  # after SOI; Pillow seeks back to where it decodes from
    frame = components = None
    while len(head := fp.read(4)) == 4 and head[0] == 0xFF:
        if head[1] == 0xFF:  # a fill byte before the marker
            fp.seek(-3, io.SEEK_CUR)
            continue
        marker, length = head[1], int.from_bytes(head[2:4], "big")
        if marker in _FRAMES:
            frame, components = marker, fp.read(6)[5:]  # precision, height, width, then the component count
            fp.seek(length - 8, io.SEEK_CUR)
        elif marker == 0xDA:  # the first scan: its component count
            return frame in _SEQUENTIAL_FRAMES and bool(components) and fp.read(1) == components
        else:
            fp.seek(length - 2, io.SEEK_CUR)
    return False


def _exif(im: Image.Image) -> Image.Exif:
    """The photo's EXIF, or an empty one when it is missing or unreadable (the pixels may still be fine)."""
    try:
        return im.getexif()
    except Exception:
        return Image.Exif()


def _decode_scaled(im: Image.Image) -> Image.Image:
    """The picture at about the display size: a JPEG decoded at the smallest DCT scale that still covers it,
    then resized once; any other picture decoded whole, then shrunk a band at a time."""
    w, h = im.size
    scale = DISPLAY_EDGE / max(w, h)
    if scale >= 1:
        im.load()
        return im
    target = (max(1, round(w * scale)), max(1, round(h * scale)))
    if im.format not in ("JPEG", "MPO"):
        im.load()  # no DCT scale to decode at: all its pixels (at most MAX_DECODE_PIXELS)
        return _shrink_in_bands(im, target)
    im.draft("RGB", target)  # box in the stored orientation, else it decodes all pixels
    im.load()
    if im.size == target:
        return im
    if im.mode not in ("RGB", "L", "RGBA", "CMYK", "LA"):
        im = _to_rgb(im)
    resample, reducing_gap = _filter(im.width, target[0])
    return im.resize(target, resample, reducing_gap=reducing_gap)


def _filter(width: int, target_width: int) -> tuple[Image.Resampling, float | None]:
    """The resampling filter and Pillow's reducing_gap for shrinking `width` to `target_width`."""
    if width < 2 * target_width:
        # A factor under 2 (what a DCT-scaled decode leaves), where Pillow's (antialiased) bilinear
        # filter is nearly as close as bicubic to LANCZOS from full size, for less (docs/PERFORMANCE.md).
        return Image.Resampling.BILINEAR, None
    return Image.Resampling.BICUBIC, 3.0


_REACH = {Image.Resampling.BILINEAR: 1.0, Image.Resampling.BICUBIC: 2.0}  # filter radius, in output pixels


def _shrink_in_bands(im: Image.Image, target: tuple[int, int]) -> Image.Image:
    """A whole decoded picture shrunk to `target` as RGB, converted a band of rows at a time.

    The result is the picture converted whole and then resized (box-reduced first, as reducing_gap does),
    without the full-size copies that takes: a 16-bit picture's conversion to 8 bits passes through two
    32-bit copies, and Pillow resizes RGBA through a premultiplied copy.
    """
    (w, h), (tw, th) = im.size, target
    resample, gap = _filter(w, tw)
    fx, fy = (max(1, int(w / tw / gap)), max(1, int(h / th / gap))) if gap else (1, 1)
    reach = math.ceil(_REACH[resample] * max(h / fy / th, 1)) + 1  # reduced rows a band's filter reads around it
    rows = max(1, BAND_PIXELS * th // (w * h))  # output rows per band
    out = Image.new("RGB", target)
    for r0 in range(0, th, rows):
        r1 = min(th, r0 + rows)
        top, bottom = r0 * h / (fy * th), r1 * h / (fy * th)  # in rows of the reduced picture
        first = max(0, math.floor(top) - reach)
        last = min(math.ceil(h / fy), math.ceil(bottom) + reach)
        band = _to_rgb(im.crop((0, first * fy, w, min(h, last * fy))))  # starts on a reduction block
        if fx > 1 or fy > 1:
            band = band.reduce((fx, fy))
        out.paste(band.resize((tw, r1 - r0), resample, box=(0, top - first, w / fx, bottom - first)), (0, r0))
    return out


def _thumbnail(display: Image.Image) -> Image.Image:
    """The thumbnail: a box average when the display's long edge is a whole multiple of it (1600 = 5 x 320,
    every photo larger than the display size), else a bicubic resize."""
    factor, rest = divmod(max(display.size), THUMB_EDGE)
    if factor > 1 and rest == 0:
        return display.reduce(factor)  # each pixel the mean of a factor x factor block: a third of the time
    return _fit(display, THUMB_EDGE, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _fit(im: Image.Image, edge: int, resample, reducing_gap: float | None = None) -> Image.Image:
    """A downscaled copy whose long edge is at most `edge` (never upscaled)."""
    scale = edge / max(im.size)
    if scale >= 1:
        return im.copy()
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    return im.resize(size, resample, reducing_gap=reducing_gap)


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB on white: CMYK, palette, 16-bit and alpha all become plain 8-bit RGB."""
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im.convert("RGB")


def _encode(im: Image.Image) -> bytes:
    """Plain baseline JPEG with no EXIF, no ICC, no comments."""
    out = io.BytesIO()
    im.info = {}  # Pillow would copy a source comment into the JPEG
    # optimize/progressive cost much encoder time for few bytes: off on the request path (docs/PERFORMANCE.md)
    im.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def _rational(value) -> float:
    """One EXIF rational (an IFDRational, a (num, den) pair or a number) as a float."""
    if isinstance(value, tuple) and len(value) == 2:
        num, den = value
        return float(num) / float(den) if den else float("nan")
    return float(value)


def _dms(values) -> float:
    parts = [_rational(v) for v in values]
    while len(parts) < 3:
        parts.append(0.0)
    return parts[0] + parts[1] / 60 + parts[2] / 3600


def gps_from_exif(exif) -> tuple[float, float] | None:
    """Latitude and longitude from an Image.Exif, or None (absent, empty, NaN, 0,0 or out of range)."""
    try:
        ifd = exif.get_ifd(0x8825)
    except Exception:
        return None
    if not ifd:
        return None
    try:
        lat = _dms(ifd[2])
        lon = _dms(ifd[4])
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    if str(ifd.get(1, "N")).strip().upper().startswith("S"):
        lat = -lat
    if str(ifd.get(3, "E")).strip().upper().startswith("W"):
        lon = -lon
    if any(math.isnan(v) or math.isinf(v) for v in (lat, lon)):
        return None
    if lat == 0 and lon == 0:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return round(lat, 7), round(lon, 7)


def taken_from_exif(exif) -> datetime | None:
    """When the photo was taken (EXIF DateTimeOriginal, with OffsetTimeOriginal when given), or None."""
    try:
        ifd = exif.get_ifd(0x8769)
        raw = str(ifd.get(0x9003) or exif.get(0x0132) or "").strip().rstrip("\x00")
        when = datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S")
        offset = str(ifd.get(0x9011) or "").strip().rstrip("\x00")
        if re.fullmatch(r"[+-]\d\d:\d\d", offset):
            when = datetime.fromisoformat(when.isoformat() + offset)
    except (TypeError, ValueError, AttributeError, KeyError):
        return None
    return when if 1990 <= when.year <= 2100 else None


def read_gps(data: bytes) -> tuple[float, float] | None:
    """The EXIF GPS of an encoded photo without decoding its pixels."""
    try:
        return gps_from_exif(Image.open(io.BytesIO(data)).getexif())
    except Exception:
        return None
