"""A proof of the stop (免责凭证): signed receipts, the public check page, tampering, revocation, the public key,
the command line, the image in Chinese, and the photo's own time."""

import base64
import io
import json
import os
from datetime import datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from PIL import Image

from app.extensions import db
from app.reports import receipt_image, receipts
from app.reports.photos import process_photo
from app.triage.workflow import Status
from tests import factories as f
from tests.conftest import need


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jpeg_taken_at(when: str, offset: str | None = None) -> bytes:
    image = Image.new("RGB", (640, 480), (90, 120, 200))
    exif = Image.Exif()
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = when
    if offset:
        ifd[0x9011] = offset
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def filed(app):
    """A rider (with a phone number and a display name) and their report, with a photo taken at 8:05 local time."""
    rider = f.make_user("rider1", phone="+8613800138000", display_name="王小明")
    report = f.file_report(rider, photos=[jpeg_taken_at("2026:12:07 08:05:00")])
    return rider, report


def receipt_of(client, rider, report):
    f.log_in(client, rider)
    r = client.get(f"/api/v1/reports/{report.id}/receipt")
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


def test_the_rider_gets_a_signed_receipt_of_their_report(client, filed):
    rider, report = filed
    body = receipt_of(client, rider, report)
    assert body["url"].endswith(f"/verify/{body['token']}")
    assert body["image_url"].endswith(f"/reports/{report.id}/receipt.png")
    facts = receipts.signed_facts(body["token"])
    assert facts["ref"] == report.reference and facts["cat"] == "illegal_parking"
    assert facts["taken"] == "2026-12-07T08:05:00+08:00"  # the photo's own time, in the county's zone
    assert datetime.fromisoformat(facts["filed"]) == report.captured_at.replace(microsecond=0)
    assert (facts["lat"], facts["lon"]) == (round(report.lat, 3), round(report.lon, 3))  # about 100 m
    assert facts["status"] == Status.SUBMITTED.value
    text = json.dumps(facts, ensure_ascii=False)
    assert "王小明" not in text and "rider1" not in text and "138" not in text and "photo" not in text


def test_only_its_rider_gets_the_receipt(client, app, filed):
    _rider, report = filed
    assert client.get(f"/api/v1/reports/{report.id}/receipt").status_code == 401
    f.log_in(client, f.make_user("rider2"))
    assert client.get(f"/api/v1/reports/{report.id}/receipt").status_code == 403
    assert client.get(f"/reports/{report.id}/receipt").status_code == 403
    f.log_in(client, f.make_user("coord", role="coordinator"))
    assert client.get(f"/api/v1/reports/{report.id}/receipt").status_code == 403
    assert client.get("/api/v1/reports/999999/receipt").status_code == 404


def test_anyone_checks_a_receipt_without_logging_in_and_sees_no_personal_data(client, app, filed):
    rider, report = filed
    token = receipt_of(client, rider, report)["token"]
    page = app.test_client().get(f"/verify/{token}", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-state="valid"' in html and report.reference in html
    for private in ("王小明", "rider1", "13800138000", "138****8000", "/photos/", "<img"):
        assert private not in html, private


def test_a_tampered_foreign_or_unknown_receipt_is_not_valid(client, app, filed):
    rider, report = filed
    token = receipt_of(client, rider, report)["token"]
    body, signature = token.split(".")
    facts = json.loads(unb64(body))
    forged_body = b64(json.dumps({**facts, "filed": "2026-12-07T07:00:00+08:00"}).encode())
    other_key = Ed25519PrivateKey.generate()
    foreign_payload = json.dumps(facts).encode()
    foreign = b64(foreign_payload) + "." + b64(other_key.sign(foreign_payload))
    unknown = dict(facts, id=report.id + 1000)
    own_key = receipts.signing_key()
    unknown_payload = json.dumps(unknown).encode()
    unknown_token = b64(unknown_payload) + "." + b64(own_key.sign(unknown_payload))
    anonymous = app.test_client()
    for bad in (forged_body + "." + signature, foreign, unknown_token, "nonsense", token[:-3] + "AAA", "a.b.c"):
        page = anonymous.get(f"/verify/{bad}", headers={"Accept-Language": "en"})
        assert page.status_code == 400 and "not valid" in page.get_data(as_text=True), bad


def test_a_receipt_is_revoked_when_the_report_is_rejected_as_not_real(client, app, filed):
    rider, report = filed
    token = receipt_of(client, rider, report)["token"]
    report.status = Status.REJECTED.value
    db.session.commit()
    page = app.test_client().get(f"/verify/{token}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and 'data-state="revoked"' in page.get_data(as_text=True)


def test_the_public_key_checks_a_receipt_offline(client, app, filed):
    rider, report = filed
    token = receipt_of(client, rider, report)["token"]
    key = app.test_client().get("/.well-known/gridsnap-receipt-key.json").get_json()
    assert key["alg"] == "Ed25519" and key["jwk"]["crv"] == "Ed25519"
    body, signature = token.split(".")
    Ed25519PublicKey.from_public_bytes(unb64(key["public_key"])).verify(unb64(signature), unb64(body))


def test_the_key_is_made_once_in_the_instance_folder_or_taken_from_the_setting(app, filed):
    path = os.path.join(app.instance_path, receipts.KEY_FILE)
    key = receipts.signing_key()
    assert os.path.exists(path) and oct(os.stat(path).st_mode & 0o777) == "0o600"
    app.extensions.pop("receipt_key")
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert receipts.public_key_document()["public_key"] == b64(raw)  # read back, not made again
    seed = Ed25519PrivateKey.generate()
    app.config["RECEIPT_KEY"] = base64.b64encode(
        seed.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    ).decode()
    app.extensions.pop("receipt_key")
    raw = seed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert receipts.public_key_document()["public_key"] == b64(raw)
    app.extensions.pop("receipt_key")
    app.config["RECEIPT_KEY"] = ""


def test_flask_receipt_verify(runner, client, filed):
    rider, report = filed
    token = receipt_of(client, rider, report)["token"]
    ok = runner.invoke(args=["receipt", "verify", token])
    assert ok.exit_code == 0 and "VALID" in ok.output and report.reference in ok.output
    bad = runner.invoke(args=["receipt", "verify", token[:-4] + "AAAA"])
    assert bad.exit_code == 1
    report.status = Status.REJECTED.value
    db.session.commit()
    revoked = runner.invoke(args=["receipt", "verify", token])
    assert revoked.exit_code == 2 and "REVOKED" in revoked.output


def test_the_receipt_page_shows_a_qr_code_and_links_the_image(client, filed):
    rider, report = filed
    f.log_in(client, rider)
    html = client.get(f"/reports/{report.id}/receipt").get_data(as_text=True)
    assert "<svg" in html and f"/reports/{report.id}/receipt.png" in html and "/verify/" in html
    assert f"/reports/{report.id}/receipt" in client.get(f"/reports/{report.id}").get_data(as_text=True)


def test_the_receipt_image_renders_chinese(client, app, filed):
    rider, report = filed
    with app.test_request_context():
        path = receipt_image.cjk_font_path()
    need(path is not None, "no font with Chinese glyphs installed (fonts-noto-cjk) or GRIDSNAP_RECEIPT_FONT")
    from PIL import ImageFont

    assert receipt_image.draws_chinese(ImageFont.truetype(path, 24))
    f.log_in(client, rider)
    r = client.get(f"/reports/{report.id}/receipt.png")
    assert r.status_code == 200 and r.mimetype == "image/png"
    image = Image.open(io.BytesIO(r.data))
    assert image.width == receipt_image.WIDTH and image.height > 900
    assert image.convert("L").getextrema()[0] < 60  # dark text drawn on white


def test_a_font_without_chinese_is_not_taken(app):
    from PIL import ImageFont

    assert not receipt_image.draws_chinese(ImageFont.load_default(size=24))


def test_the_photo_time_comes_from_exif_with_its_offset_when_given(app):
    assert process_photo(jpeg_taken_at("2026:12:07 08:05:00", "+09:00")).taken_at.isoformat() == (
        "2026-12-07T08:05:00+09:00"
    )
    assert process_photo(jpeg_taken_at("2026:12:07 08:05:00")).taken_at == datetime(2026, 12, 7, 8, 5)
    assert process_photo(jpeg_taken_at("0000:00:00 00:00:00")).taken_at is None
    assert process_photo(f.jpeg()).taken_at is None
