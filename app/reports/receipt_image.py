"""The receipt as a picture to save or send in WeChat: its facts in Chinese and English, and the QR code."""

from __future__ import annotations

import io
import os
from datetime import datetime

import segno
from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageDraw, ImageFont

from app.errors import DomainError
from app.i18n import local_zone

# Where Linux (Debian/Ubuntu fonts-noto-cjk, Fedora, Alpine), macOS and Windows keep a Chinese font.
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
WIDTH, MARGIN = 720, 40


class FontMissing(DomainError):
    status, code = 503, "font_missing"


def draws_chinese(font: ImageFont.FreeTypeFont) -> bool:
    """Whether the font has Chinese glyphs: two different characters do not come out as the same box."""

    def drawn(char: str) -> bytes:
        image = Image.new("L", (48, 48), 0)
        ImageDraw.Draw(image).text((4, 4), char, font=font, fill=255)
        return image.tobytes()

    return drawn("凭") != drawn("证")


def cjk_font_path() -> str | None:
    """GRIDSNAP_RECEIPT_FONT, else the first installed font that draws Chinese."""
    configured = current_app.config.get("RECEIPT_FONT")
    for path in ([configured] if configured else []) + list(FONT_CANDIDATES):
        if path and os.path.exists(path):
            try:
                if draws_chinese(ImageFont.truetype(path, 24)):
                    return path
            except OSError:
                continue
    return None


def _when(value: str | None) -> str:
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


def lines_for(facts: dict, status_zh: str) -> list[tuple[str, str]]:
    """The receipt's lines, label and value (labels in Chinese with English)."""
    return [
        ("编号 Reference", facts.get("ref") or "—"),
        ("类别 Category", f"{facts.get('cat_zh', '')} / {facts.get('cat_en', '')}"),
        ("拍摄 Photo taken", _when(facts.get("taken"))),
        ("上报 Filed", _when(facts.get("filed"))),
        ("地点 Place", facts.get("place") or "—"),
        ("位置 Position (±100 m)", f"{facts['lat']:.3f}, {facts['lon']:.3f}"),
        ("状态 Status", status_zh),
    ]


def render_png(facts: dict, status_zh: str, url: str) -> bytes:
    """The receipt as a PNG: title, facts, the QR code of its check page, the page's address."""
    path = cjk_font_path()
    if path is None:
        raise FontMissing(_l("No font with Chinese characters is installed: set GRIDSNAP_RECEIPT_FONT."))
    title, label, value = (ImageFont.truetype(path, size) for size in (40, 22, 30))
    qr = Image.open(io.BytesIO(_qr_png(url))).convert("RGB")
    rows = lines_for(facts, status_zh)
    height = MARGIN * 2 + 70 + len(rows) * 86 + qr.height + 80
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    y = MARGIN
    draw.text((MARGIN, y), "网格随手拍 · 免责凭证", font=title, fill="#111111")
    y += 70
    for name, text in rows:
        draw.text((MARGIN, y), name, font=label, fill="#555555")
        draw.text((MARGIN, y + 28), _fit(draw, text, value, WIDTH - 2 * MARGIN), font=value, fill="#111111")
        y += 86
    image.paste(qr, ((WIDTH - qr.width) // 2, y))
    y += qr.height + 10
    draw.text((MARGIN, y), "扫码核验 Scan to check", font=label, fill="#555555")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """The text cut with an ellipsis to fit the width."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _qr_png(url: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=6, border=2)
    return out.getvalue()
