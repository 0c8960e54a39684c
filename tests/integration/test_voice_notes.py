"""Voice notes with a report: real recordings (Opus/WebM and AAC/MP4 from Chromium's MediaRecorder) accepted
without a description, stored with the photos' backend, served to those who see the report whole; anything
that is not audio, too long or too large refused with a clear 4xx."""

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Report
from app.ops.storage_admin import referenced_keys
from app.storage import photo_store
from tests import factories as f
from tests.conftest import fixture_bytes

WEBM, M4A = fixture_bytes("audio/voice-3s.webm"), fixture_bytes("audio/voice-3s.m4a")


def file_with_voice(client, headers, voice: bytes, name="voice.webm", seconds="3.0", **fields):
    data = {
        "category": "illegal_parking",
        "lat": str(f.QIANWEI[0]),
        "lon": str(f.QIANWEI[1]),
        "photos": (io.BytesIO(f.jpeg()), "p.jpg"),
        "voice": (io.BytesIO(voice), name),
        **fields,
    }
    if seconds is not None:
        data["voice_seconds"] = seconds
    return client.post("/api/v1/reports", data=data, headers=headers, content_type="multipart/form-data")


@pytest.mark.parametrize(
    ("recording", "name", "kind"), [(WEBM, "voice.webm", "audio/webm"), (M4A, "v.m4a", "audio/mp4")]
)
def test_a_voice_note_without_a_description_is_filed_stored_and_played(client, app, recording, name, kind):
    _rider, headers = f.make_user("rider1", token=True)
    r = file_with_voice(client, headers, recording, name)
    assert r.status_code == 201, r.get_data(as_text=True)
    body = r.get_json()
    assert body["description"] == "" and body["voice"]["type"] == kind and body["voice"]["seconds"] == 3.0
    report = db.session.get(Report, body["id"])
    assert photo_store().get(report.voice_key) == recording  # next to the photos, in the same backend
    assert report.voice_key in referenced_keys()  # `storage check` does not take it for an orphan
    played = client.get(body["voice"]["url"], headers=headers)
    assert played.status_code == 200 and played.mimetype == kind and played.data == recording
    part = client.get(body["voice"]["url"], headers={**headers, "Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == recording[:100]  # Safari plays only what answers ranges


def test_the_voice_note_is_played_on_the_riders_page_and_the_staffs(client, app):
    rider, headers = f.make_user("rider1", token=True)
    report_id = file_with_voice(client, headers, WEBM).get_json()["id"]
    f.log_in(client, rider)
    assert 'id="voice-note-player"' in client.get(f"/reports/{report_id}").get_data(as_text=True)
    f.log_in(client, f.make_user("coord", "coordinator"))
    assert f"/voice/{report_id}" in client.get(f"/board/reports/{report_id}").get_data(as_text=True)
    assert client.get(f"/voice/{report_id}").status_code == 200
    f.log_in(client, f.make_user("rider2"))
    assert client.get(f"/voice/{report_id}").status_code in (403, 404)


@pytest.mark.parametrize(
    ("voice", "seconds", "status", "code"),
    [
        (f.jpeg(), "3", 415, "not_audio"),  # a photo named voice.webm
        (b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 64, "3", 415, "not_audio"),  # not a recording a phone makes
        (b"", "3", 400, "empty_voice"),
        (WEBM[:64] + b"\x00" * (200 * 1024), "60", 413, "voice_too_large"),  # over 200 KB
        (WEBM[:64] + b"\x00" * (40 * 1024), "3", 413, "voice_too_large"),  # 40 KB for 3 s: over 100 KB / 30 s
        (WEBM, "75", 400, "voice_too_long"),
        (WEBM, "abc", 400, "voice_too_long"),
        (WEBM, "nan", 400, "voice_too_long"),
    ],
)
def test_bad_audio_is_refused_clearly_and_nothing_is_filed(client, app, voice, seconds, status, code):
    _rider, headers = f.make_user("rider1", token=True)
    before = set(photo_store().list()) if hasattr(photo_store(), "list") else None
    r = file_with_voice(client, headers, voice, seconds=seconds, description="x")
    assert r.status_code == status and r.get_json()["error"]["code"] == code, r.get_data(as_text=True)
    assert r.get_json()["error"]["message"]
    assert db.session.scalar(select(func.count()).select_from(Report)) == 0
    if before is not None:
        assert {o.key for o in photo_store().list()} == {o.key for o in before}


def test_a_voice_note_without_its_length_is_held_to_the_60_second_size(client, app):
    _rider, headers = f.make_user("rider1", token=True)
    assert file_with_voice(client, headers, WEBM, seconds=None).status_code == 201
