"""A rider's voice note: checked to be audio a phone records (Opus in WebM or Ogg, AAC in MP4), at most
MAX_SECONDS long and about 100 KB per 30 s."""

from __future__ import annotations

import math
from typing import IO

from flask_babel import lazy_gettext as _l

from app.errors import DomainError

MAX_SECONDS = 60
BYTES_PER_30_SECONDS = 100 * 1024
MAX_BYTES = 2 * BYTES_PER_30_SECONDS  # 60 s
SLACK_BYTES = 8 * 1024  # container headers and the first cluster
EXTENSIONS = {"audio/webm": ".webm", "audio/mp4": ".m4a", "audio/ogg": ".ogg"}


class VoiceRejected(DomainError):
    status, code = 400, "bad_voice"


def audio_type(head: bytes) -> str | None:
    """The container of a recording from its first bytes (WebM, MP4/M4A, Ogg), or None."""
    if head[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in head[:64]:
        return "audio/webm"
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    if head[:4] == b"OggS":
        return "audio/ogg"
    return None


def seconds_of(value) -> float | None:
    """The length the phone measured, in seconds (None when not sent); VoiceRejected when it is no length."""
    if value in (None, ""):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (0 < seconds <= MAX_SECONDS + 0.5):  # NaN fails too
        raise VoiceRejected(_l("A voice note lasts at most %(max)d seconds.", max=MAX_SECONDS), code="voice_too_long")
    return round(seconds, 1)


def read_voice(upload: IO[bytes], seconds=None) -> tuple[bytes, str, float | None]:
    """The recording's bytes, type and length, or VoiceRejected (415 not audio, 413 too large)."""
    data = upload.read(MAX_BYTES + 1)
    length = seconds_of(seconds)
    if not data:
        raise VoiceRejected(_l("The voice note is empty. Record it again."), code="empty_voice")
    if len(data) > MAX_BYTES:
        raise VoiceRejected(
            _l("The voice note is too large: at most 60 seconds, about 100 KB per 30 seconds."),
            code="voice_too_large",
            status=413,
        )
    kind = audio_type(data[:64])
    if kind is None:
        raise VoiceRejected(_l("That is not a voice recording (WebM, Ogg or MP4 audio)."), code="not_audio", status=415)
    if length is not None and len(data) > math.ceil(length / 30 * BYTES_PER_30_SECONDS) + SLACK_BYTES:
        raise VoiceRejected(
            _l("The voice note is too large for its length: about 100 KB per 30 seconds."),
            code="voice_too_large",
            status=413,
        )
    return data, kind, length
