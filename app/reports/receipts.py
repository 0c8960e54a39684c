"""A proof of the stop (免责凭证): a report's facts signed with the county's Ed25519 key.

The token is `base64url(facts as JSON) . base64url(signature)`: anyone with the public key
(/.well-known/gridsnap-receipt-key.json) checks it offline; /verify/<token> also says whether the report
still stands. The facts never name the rider, their number or a photo.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from flask_babel import lazy_gettext as _l

from app.errors import DomainError, PermissionDenied
from app.extensions import db
from app.i18n import iso
from app.models import Report, utcnow
from app.triage.workflow import Status

KEY_FILE = "receipt-key.pem"
VERSION = 1
PLACE_DECIMALS = 3  # 0.001° of latitude is 111 m: the place rounded to about 100 m
MAX_TOKEN = 2000


class ReceiptInvalid(DomainError):
    status, code = 400, "receipt_invalid"


NOT_VALID = _l("This receipt is not valid: it was changed, or GridSnap did not issue it.")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _load_key(text: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("GRIDSNAP_RECEIPT_KEY is not an Ed25519 key")
        return key
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text))


def signing_key() -> Ed25519PrivateKey:
    """The county's key: GRIDSNAP_RECEIPT_KEY, else instance/receipt-key.pem (made on first use, owner-only)."""
    app = current_app._get_current_object()
    if "receipt_key" in app.extensions:
        return app.extensions["receipt_key"]
    if app.config.get("RECEIPT_KEY"):
        key = _load_key(app.config["RECEIPT_KEY"])
    else:
        path = os.path.join(app.instance_path, KEY_FILE)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made before, or by another worker a moment ago: theirs is the key
            with open(path) as fh:
                key = _load_key(fh.read())
        else:
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    app.extensions["receipt_key"] = key
    return key


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_document() -> dict:
    """The public key for checking receipts offline, as raw base64url and as a JWK."""
    raw = public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {
        "alg": "Ed25519",
        "kid": hashlib.sha256(raw).hexdigest()[:16],
        "public_key": _b64(raw),
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)},
        "token": "base64url(UTF-8 JSON of the facts) '.' base64url(Ed25519 signature of those JSON bytes)",
    }


def place_name(report: Report) -> str:
    """The place as people name it: the grid area, else the looked-up address."""
    return (report.grid.name if report.grid else "") or report.address or ""


def riders_report(user, report_id: int) -> Report:
    """A report for its receipt: only the rider who filed it gets one (NotFound, PermissionDenied)."""
    from app.reports.services import get_report

    report = get_report(report_id)
    if report.user_id != user.id:
        raise PermissionDenied(_l("Only the rider who filed a report gets its receipt."), code="not_yours")
    return report


def facts_for(report: Report) -> dict:
    """What a receipt says: reference, category, when the photo was taken and the report filed, where, status."""
    taken = min((p.taken_at for p in report.photos if p.taken_at), default=None)
    return {
        "v": VERSION,
        "id": report.id,
        "ref": report.reference,
        "cat": report.category.code,
        "cat_zh": report.category.name_zh,
        "cat_en": report.category.name_en,
        "taken": iso(taken),
        "filed": iso(report.captured_at),
        "lat": round(report.lat, PLACE_DECIMALS),
        "lon": round(report.lon, PLACE_DECIMALS),
        "place": place_name(report),
        "status": report.status,
        "issued": iso(utcnow()),
    }


def issue(report: Report) -> str:
    """A signed token for the report's receipt."""
    payload = json.dumps(facts_for(report), ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    return _b64(payload) + "." + _b64(signing_key().sign(payload))


def signed_facts(token: str, key: Ed25519PublicKey | None = None) -> dict:
    """The facts of a token whose signature holds, or ReceiptInvalid (tampered, foreign, malformed)."""
    try:
        if len(token) > MAX_TOKEN:
            raise ValueError("too long")
        body, signature = token.split(".")
        payload = _unb64(body)
        (key or public_key()).verify(_unb64(signature), payload)
        facts = json.loads(payload)
    except (ValueError, binascii.Error, InvalidSignature, UnicodeDecodeError):
        raise ReceiptInvalid(NOT_VALID) from None
    if not isinstance(facts, dict) or facts.get("v") != VERSION or not isinstance(facts.get("id"), int):
        raise ReceiptInvalid(NOT_VALID)
    return facts


@dataclass
class Checked:
    """A receipt checked against the database: its signed facts and whether the report stands."""

    facts: dict
    revoked: bool
    status: str  # the report's status now

    @property
    def filed(self) -> datetime | None:
        return datetime.fromisoformat(self.facts["filed"]) if self.facts.get("filed") else None

    @property
    def taken(self) -> datetime | None:
        return datetime.fromisoformat(self.facts["taken"]) if self.facts.get("taken") else None


def check(token: str) -> Checked:
    """A receipt's facts, and whether it stands: revoked once the report was rejected as not real."""
    facts = signed_facts(token)
    report = db.session.get(Report, facts["id"])
    if report is None or report.reference != facts.get("ref"):
        raise ReceiptInvalid(NOT_VALID)
    return Checked(facts=facts, revoked=report.status == Status.REJECTED.value, status=report.status)
