"""The photo pipeline against every real photo in tests/fixtures/photos, plus generated edge cases."""

import csv
import functools
import io
import os
from dataclasses import dataclass

import pytest
from PIL import Image, ImageChops, ImageFile, ImageStat

from app.errors import PhotoRejected
from app.reports.photos import DISPLAY_EDGE, THUMB_EDGE, check_photo, process_photo, read_gps
from tests import factories
from tests.conftest import FIXTURES

PHOTOS = os.path.join(FIXTURES, "photos")
NOT_PHOTOS = {"MANIFEST.tsv", "ATTRIBUTION.md"}


@dataclass(frozen=True)
class Accepted:
    """The photo is stored; `orientation_checked` means its picture is compared with orient_1's."""

    orientation_checked: bool = False


@dataclass(frozen=True)
class Refused:
    status: int
    code: str


# What must happen to each file in the folder (GPS and sizes come from MANIFEST.tsv).
EXPECTED = {
    "cmyk.jpg": Accepted(),
    "empty_0_bytes.jpg": Refused(400, "empty_photo"),
    "gps_canon_eos600d_west.jpg": Accepted(),
    "gps_google_pixel.jpg": Accepted(),
    "gps_hasselblad_l1d20c_drone.jpg": Accepted(),
    "gps_ifd_empty_xiaomi_orient6.jpg": Accepted(),
    "gps_in_png_exif_chunk.png": Accepted(),
    "gps_iphone6_3264x2448.jpg": Accepted(),
    "gps_iphone7.heic": Accepted(),
    "gps_kodak_cx7530_south.jpg": Accepted(),
    "gps_nan_canon_eos30d_progressive.jpg": Accepted(),
    "gps_nikon_coolpix_p6000.jpg": Accepted(),
    "gps_nikon_d2x_iptc.jpg": Accepted(),
    "gps_nikon_d3100.jpg": Accepted(),
    "gps_samsung_sm-g930f_4032x2012.jpg": Accepted(),
    "gps_tags_no_latlon.jpg": Accepted(),
    "heic_no_exif_1440x960.heic": Accepted(),
    "hopper.png": Accepted(),
    "lottapixel_64250x64250.jpg": Refused(400, "too_many_pixels"),
    "mpo_nintendo3ds.mpo": Accepted(),
    "noexif_canon_s40_stripped.jpg": Accepted(),
    "noexif_hopper.jpg": Accepted(),
    **{f"orient_{n}.jpg": Accepted(orientation_checked=True) for n in range(9)},
    "progressive_nikon_d300.jpg": Accepted(),
    "truncated_3484x2347.jpg": Refused(400, "corrupt_photo"),
    "truncated_small.jpg": Refused(400, "corrupt_photo"),
}


def _manifest() -> dict[str, dict]:
    with open(os.path.join(PHOTOS, "MANIFEST.tsv"), newline="", encoding="utf-8") as fh:
        return {row["filename"]: row for row in csv.DictReader(fh, delimiter="\t")}


MANIFEST = _manifest()


def photo_bytes(name: str) -> bytes:
    with open(os.path.join(PHOTOS, name), "rb") as fh:
        return fh.read()


@functools.cache
def processed(name: str):
    return process_photo(photo_bytes(name))


def decoded(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def expected_gps(name: str):
    row = MANIFEST[name]
    if row["has_gps"] != "yes":
        return None
    return float(row["lat"]), float(row["lon"])


def expected_size(name: str) -> tuple[int, int]:
    """The display size: the stored size turned by the EXIF orientation, long edge at most 1600."""
    row = MANIFEST[name]
    w, h = (int(v) for v in row["width_x_height"].split("x"))
    if row["orientation"] in ("5", "6", "7", "8") and not name.endswith(".heic"):
        w, h = h, w
    scale = min(1.0, DISPLAY_EDGE / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    return ImageStat.Stat(ImageChops.difference(a.convert("L"), b.convert("L"))).mean[0]


def jpeg_markers(data: bytes) -> list[int]:
    """The marker bytes of a JPEG's header segments, up to the start of scan."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while pos < len(data):
        assert data[pos] == 0xFF, "malformed JPEG segment"
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:
            break
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return markers


def assert_clean_rgb_jpeg(data: bytes, max_edge: int) -> Image.Image:
    """An RGB baseline JPEG within max_edge, with no EXIF, ICC, XMP, IPTC or comment at all."""
    im = decoded(data)
    assert im.format == "JPEG" and im.mode == "RGB"
    assert max(im.size) <= max_edge
    markers = jpeg_markers(data)
    # Only JFIF (APP0), quantisation/Huffman tables, frame and scan: no APP1-15 (EXIF, XMP, ICC,
    # IPTC, Adobe) and no COM.
    assert not [m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE], [hex(m) for m in markers]
    assert not {"exif", "icc_profile", "comment", "xmp", "photoshop"} & set(im.info)
    assert len(im.getexif()) == 0
    return im


def test_the_table_covers_every_photo_in_the_fixture_folder():
    files = set(os.listdir(PHOTOS)) - NOT_PHOTOS
    assert set(EXPECTED) == files
    assert set(MANIFEST) == files


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if isinstance(e, Refused)))
def test_broken_and_hostile_files_are_refused_with_the_right_status(name):
    expected = EXPECTED[name]
    with pytest.raises(PhotoRejected) as caught:
        process_photo(photo_bytes(name))
    assert (caught.value.status, caught.value.code) == (expected.status, expected.code)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if isinstance(e, Accepted)))
def test_accepted_photo_is_oriented_sized_located_and_stripped(name):
    result = processed(name)
    display = assert_clean_rgb_jpeg(result.display, DISPLAY_EDGE)
    thumb = assert_clean_rgb_jpeg(result.thumb, THUMB_EDGE)
    assert display.size == (result.width, result.height) == expected_size(name)
    # The thumbnail keeps the display's shape.
    assert abs(thumb.width / thumb.height - display.width / display.height) < 0.05 or min(thumb.size) <= 2
    gps = expected_gps(name)
    if gps is None:
        assert result.gps is None
    else:
        assert result.gps == pytest.approx(gps, abs=1e-5)
        assert read_gps(photo_bytes(name)) == pytest.approx(gps, abs=1e-5)
    if EXPECTED[name].orientation_checked:
        reference = decoded(processed("orient_1.jpg").display)
        assert display.size == reference.size
        assert mean_abs_diff(display, reference) < 8


def test_orientation_check_would_notice_a_wrong_turn():
    reference = decoded(processed("orient_1.jpg").display)
    for wrong in (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.ROTATE_180):
        assert mean_abs_diff(reference.transpose(wrong), reference) > 30
    # Ignoring the EXIF tag of orient_6 gives a portrait picture, not the landscape one.
    raw = decoded(photo_bytes("orient_6.jpg"))
    assert raw.height > raw.width


def test_southern_and_western_hemispheres_are_negative():
    assert processed("gps_kodak_cx7530_south.jpg").gps[0] < 0
    assert processed("gps_canon_eos600d_west.jpg").gps[1] < 0
    assert processed("gps_nikon_d2x_iptc.jpg").gps[1] < 0


@pytest.mark.parametrize(
    "name",
    [
        "gps_nan_canon_eos30d_progressive.jpg",
        "gps_ifd_empty_xiaomi_orient6.jpg",
        "gps_tags_no_latlon.jpg",
        "progressive_nikon_d300.jpg",
    ],
)
def test_nan_empty_or_partial_gps_means_no_location(name):
    assert processed(name).gps is None
    assert read_gps(photo_bytes(name)) is None


def test_mpo_keeps_the_first_frame():
    source = Image.open(os.path.join(PHOTOS, "mpo_nintendo3ds.mpo"))
    first = source.convert("RGB")
    source.seek(1)
    second = source.convert("RGB")
    display = decoded(processed("mpo_nintendo3ds.mpo").display)
    assert mean_abs_diff(display, first) < 3 < mean_abs_diff(display, second)


def test_heic_from_an_iphone_is_decoded_to_jpeg():
    result = processed("gps_iphone7.heic")
    assert result.source_format == "HEIF"
    display = decoded(result.display)
    # A real picture, not a blank frame.
    assert ImageStat.Stat(display.convert("L")).stddev[0] > 10


def test_cmyk_becomes_rgb_with_the_same_colours():
    source = Image.open(os.path.join(PHOTOS, "cmyk.jpg"))
    assert source.mode == "CMYK"
    display = decoded(processed("cmyk.jpg").display)
    assert mean_abs_diff(display, source.convert("RGB")) < 4


# Generated edge cases ------------------------------------------------------------------------


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **kw)
    return out.getvalue()


def test_transparent_pixels_are_flattened_onto_white():
    im = Image.new("RGBA", (200, 100), (200, 0, 0, 255))
    im.paste((0, 0, 255, 0), (100, 0, 200, 100))  # right half fully transparent (blue underneath)
    display = decoded(process_photo(encode(im, "PNG")).display)
    assert display.mode == "RGB"
    r, g, b = display.getpixel((180, 50))
    assert min(r, g, b) >= 250
    assert display.getpixel((20, 50))[0] > 180 and display.getpixel((20, 50))[2] < 40


def test_palette_with_transparency_is_flattened_onto_white():
    im = Image.new("P", (64, 64), 1)
    im.putpalette([0, 0, 0] + [10, 160, 30] + [0, 0, 0] * 254)
    im.paste(0, (0, 0, 32, 64))
    display = decoded(process_photo(encode(im, "PNG", transparency=0)).display)
    assert min(display.getpixel((10, 32))) >= 250
    g = display.getpixel((50, 32))
    assert abs(g[0] - 10) < 12 and abs(g[1] - 160) < 12 and abs(g[2] - 30) < 12


def test_16_bit_grey_png_keeps_its_tones():
    im = Image.new("I;16", (256, 32))
    im.putdata([x * 256 for _y in range(32) for x in range(256)])
    display = decoded(process_photo(encode(im, "PNG")).display)
    assert display.mode == "RGB"
    assert abs(display.getpixel((128, 16))[0] - 128) <= 6
    assert display.getpixel((5, 16))[0] < 15 and display.getpixel((250, 16))[0] > 240


def test_webp_is_accepted():
    im = Image.new("RGB", (300, 200), (20, 120, 220))
    assert decoded(process_photo(encode(im, "WEBP")).display).size == (300, 200)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_get_415(fmt):
    with pytest.raises(PhotoRejected) as caught:
        process_photo(encode(Image.new("RGB", (40, 30), (1, 2, 3)), fmt))
    assert caught.value.status == 415


@pytest.mark.parametrize("data", [b"%PDF-1.4 not a photo", b"hello world", b"\x00" * 100, b"\xff\xd8\xff"])
def test_non_images_get_415_or_400(data):
    with pytest.raises(PhotoRejected) as caught:
        process_photo(data)
    assert caught.value.status in (400, 415)
    if not data.startswith(b"\xff\xd8"):
        assert caught.value.status == 415


def test_pixel_limit_is_checked_before_decoding():
    data = encode(Image.new("RGB", (9000, 6000)), "JPEG")  # 54 MP of black compresses to very little
    with pytest.raises(PhotoRejected) as caught:
        process_photo(data)
    assert (caught.value.status, caught.value.code) == (400, "too_many_pixels")


def test_exif_icc_xmp_and_comments_are_all_stripped():
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    exif[0x0112] = 1
    exif.get_ifd(0x8825).update({1: "N", 2: (29.0, 12.0, 32.0), 3: "E", 4: (103.0, 57.0, 4.0)})
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(
        Image.new("RGB", (2000, 1000), (90, 90, 90)),
        "JPEG",
        exif=exif,
        icc_profile=icc,
        comment=b"secret comment",
        xmp=b"<x:xmpmeta>secret</x:xmpmeta>",
    )
    source = decoded(data)
    assert {"exif", "icc_profile", "comment", "xmp"} <= set(source.info)
    result = process_photo(data)
    assert result.gps == pytest.approx((29 + 12 / 60 + 32 / 3600, 103 + 57 / 60 + 4 / 3600))
    for blob in (result.display, result.thumb):
        assert b"secret" not in blob and b"Camera maker" not in blob
        assert_clean_rgb_jpeg(blob, DISPLAY_EDGE)
    assert (result.width, result.height) == (1600, 800)


def test_png_text_comment_is_not_carried_into_the_jpeg():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "where I live")
    result = process_photo(encode(Image.new("RGB", (50, 50), (1, 2, 3)), "PNG", pnginfo=info))
    assert b"where I live" not in result.display
    assert_clean_rgb_jpeg(result.display, DISPLAY_EDGE)


def test_gps_at_zero_zero_or_out_of_range_means_no_location():
    for lat, lon in (((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)), ((95.0, 0.0, 0.0), (10.0, 0.0, 0.0))):
        exif = Image.Exif()
        exif.get_ifd(0x8825).update({1: "N", 2: lat, 3: "E", 4: lon})
        data = encode(Image.new("RGB", (20, 20)), "JPEG", exif=exif)
        assert process_photo(data).gps is None
        assert read_gps(data) is None


def test_a_big_photo_is_decoded_small_and_fits_the_display_box():
    # Portrait-on-sensor (EXIF 6) 4000x3000: the display must be 1200x1600.
    exif = Image.Exif()
    exif[0x0112] = 6
    im = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    result = process_photo(encode(im, "JPEG", exif=exif, quality=85))
    assert (result.width, result.height) == (1200, 1600)
    thumb = decoded(result.thumb)
    assert thumb.size == (240, 320)


# Pictures decoded whole: capped from the header, shrunk a band at a time ------------------------


def with_a_scan_per_component(jpeg: bytes) -> bytes:
    """The JPEG with its first scan header naming only the first component (as a baseline JPEG whose
    components come in separate scans): its pixel data no longer decodes, its header still opens."""
    at = jpeg.index(b"\xff\xda")
    length = int.from_bytes(jpeg[at + 2 : at + 4], "big")
    return jpeg[:at] + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + jpeg[at + 2 + length :]


def noise(mode: str, size: tuple[int, int]) -> Image.Image:
    """A picture with detail in every channel, so a seam between bands would show."""
    grey = Image.effect_noise(size, 60)
    if mode == "I;16":
        return grey.convert("I").point(lambda v: v * 257).convert("I;16")
    if mode == "P":
        im = grey.convert("P")
        im.info["transparency"] = 7
        return im
    bands = {
        "RGBA": [
            grey,
            grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            grey.rotate(180),
            Image.linear_gradient("L").resize(size),
        ],
        "LA": [grey, Image.linear_gradient("L").resize(size)],
    }[mode]
    return Image.merge(mode, bands)


LIMIT = 1_000_000
BASELINE = encode(Image.new("RGB", (1250, 1000), (90, 140, 30)), "JPEG")


@pytest.mark.parametrize(
    "data, refused",
    [
        (factories.png(1001, 1000, "RGBA"), True),
        (factories.png(1000, 1000, "RGBA"), False),
        (factories.png(1001, 1000, "I;16"), True),
        (encode(Image.new("RGB", (501, 500)), "WEBP", lossless=True), True),  # a quarter of the limit for WebP
        (encode(Image.new("RGB", (500, 500)), "WEBP", lossless=True), False),
        (encode(Image.new("RGB", (1250, 1000)), "JPEG", progressive=True), True),
        (with_a_scan_per_component(BASELINE), True),
        (BASELINE, False),  # decoded at a DCT scale: MAX_PIXELS is its limit
    ],
    ids=[
        "png-rgba",
        "png-rgba-at-limit",
        "png-16-bit",
        "webp",
        "webp-at-limit",
        "progressive-jpeg",
        "jpeg-scan-per-component",
        "baseline-jpeg",
    ],
)
def test_pictures_decoded_whole_are_refused_from_the_header_above_the_decode_limit(data, refused, monkeypatch):
    if refused:
        monkeypatch.setattr(ImageFile.ImageFile, "load", lambda im: pytest.fail("decoded before the check"))
        with pytest.raises(PhotoRejected) as caught:
            process_photo(data, max_decode_pixels=LIMIT)
        assert (caught.value.status, caught.value.code) == (400, "image_too_large")
    else:
        assert max(decoded(process_photo(data, max_decode_pixels=LIMIT).display).size) <= DISPLAY_EDGE


def test_an_iphone_heic_is_refused_under_a_lower_decode_limit_and_the_message_says_it():
    with pytest.raises(PhotoRejected) as caught:
        check_photo(photo_bytes("gps_iphone7.heic"), max_decode_pixels=12_000_000)  # 4032 x 3024
    assert caught.value.code == "image_too_large" and "at most 12 megapixels" in str(caught.value)


@pytest.mark.parametrize(
    "name", sorted(n for n, e in EXPECTED.items() if isinstance(e, Accepted) and n.endswith((".jpg", ".mpo")))
)
def test_only_progressive_camera_jpegs_count_as_decoded_whole(name):
    progressive = bool(Image.open(io.BytesIO(photo_bytes(name))).info.get("progressive"))
    if progressive:
        with pytest.raises(PhotoRejected):
            check_photo(photo_bytes(name), max_decode_pixels=1)
    else:
        check_photo(photo_bytes(name), max_decode_pixels=1)


@pytest.mark.parametrize(
    "mode, size", [("RGBA", (2000, 1500)), ("I;16", (5000, 300)), ("P", (9700, 1000)), ("LA", (3300, 3300))]
)
def test_shrinking_band_by_band_is_the_same_as_converting_the_whole_picture(mode, size, monkeypatch):
    from app.reports import photos

    monkeypatch.setattr(photos, "BAND_PIXELS", 200_000)  # many bands, so every seam is compared
    im = noise(mode, size)
    scale = DISPLAY_EDGE / max(size)
    target = (round(size[0] * scale), round(size[1] * scale))
    resample, gap = photos._filter(size[0], target[0])
    whole = photos._to_rgb(im).resize(target, resample, reducing_gap=gap)
    banded = photos._shrink_in_bands(im, target)
    assert banded.mode == "RGB" and banded.size == target
    assert ImageChops.difference(banded, whole).getextrema() <= ((0, 1),) * 3


def test_an_upload_stream_is_read_in_place_by_the_check_and_the_pipeline():
    import tempfile

    with tempfile.SpooledTemporaryFile(max_size=1000) as fh:  # what an upload arrives as, here on disk
        fh.write(photo_bytes("gps_nikon_coolpix_p6000.jpg"))
        check_photo(fh)
        result = process_photo(fh)
    assert result.gps == pytest.approx(expected_gps("gps_nikon_coolpix_p6000.jpg"), abs=1e-5)
