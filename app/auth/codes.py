"""Signing in with a phone number and a code sent by text message.

A code is 6 digits, valid CODE_LIFETIME, kept only as a keyed hash, and burnt after MAX_TRIES wrong tries.
Codes are limited per number (SMS_CODE_PHONE_LIMIT) and per address (SMS_CODE_ADDRESS_LIMIT) in
Flask-Limiter's store. Any valid number gets its code, account or not, so neither the answer nor its time
tells who has an account (joining a team by invite confirms a number that has none yet).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import time
from datetime import timedelta

from flask import current_app
from flask_babel import format_timedelta
from flask_babel import lazy_gettext as _l
from limits import parse_many
from sqlalchemy import delete, or_, select, update

from app.errors import DomainError, PermissionDenied, ValidationFailed
from app.extensions import db, limiter
from app.models import SmsCode, User, utcnow
from app.sending import DeliveryFailed
from app.sms import SmsKind, normalise_phone, sms_provider

CODE_LIFETIME = timedelta(minutes=5)
MAX_TRIES = 5
REGION = "CN"


class TooManyCodes(DomainError):
    """More codes asked for than the limits allow; `retry_after` says in how many seconds one may ask again."""

    status, code = 429, "rate_limited"


class WrongCode(DomainError):
    status, code = 400, "invalid_code"


class SmsUnavailable(DomainError):
    status, code = 503, "sms_unavailable"


WRONG_CODE = _l("That code is not right or has expired. Ask for a new one.")


def phone_number(raw: str | None) -> str:
    """The number in E.164 (mainland China unless it starts with +), or ValidationFailed invalid_phone."""
    try:
        return normalise_phone((raw or "")[:40], REGION)
    except ValueError:
        raise ValidationFailed(_l("Enter a valid mobile number."), code="invalid_phone") from None


def _digest(phone: str, code: str) -> str:
    # Keyed: a 6-digit code hashed alone is found by trying the million of them.
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, f"sms-code:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _reserve(phone: str, address: str) -> None:
    """Count a code for the number and the address, or TooManyCodes (nothing counted) when one limit is reached."""
    if not limiter.enabled:
        return
    config, counts = current_app.config, limiter.limiter
    checks = [(limit, "sms-phone", phone) for limit in parse_many(config["SMS_CODE_PHONE_LIMIT"])]
    checks += [(limit, "sms-address", address) for limit in parse_many(config["SMS_CODE_ADDRESS_LIMIT"])]
    try:
        waits = [
            counts.get_window_stats(limit, scope, who).reset_time - time.time()
            for limit, scope, who in checks
            if not counts.test(limit, scope, who)
        ]
        if not waits:
            for limit, scope, who in checks:
                counts.hit(limit, scope, who)
    except Exception as err:  # the limits' store is down: answer as without it, like Flask-Limiter
        current_app.logger.warning("SMS code limits not checked: %s", err)
        return
    if waits:
        seconds = max(1, math.ceil(max(waits)))
        raise TooManyCodes(
            _l(
                "Too many codes were asked for this number or from this network. Try again in %(wait)s.",
                wait=format_timedelta(timedelta(seconds=seconds), threshold=1.5, add_direction=False),
            ),
            retry_after=seconds,
        )


def issue_code(phone: str) -> tuple[str, SmsCode]:
    """A new code for a number in E.164, stored hashed (an earlier one stops working); not sent, not limited."""
    code = f"{secrets.randbelow(10**6):06d}"
    db.session.execute(delete(SmsCode).where(SmsCode.phone == phone))
    row = SmsCode(phone=phone, code_hash=_digest(phone, code), attempts=0, expires_at=utcnow() + CODE_LIFETIME)
    db.session.add(row)
    db.session.flush()
    return code, row


def request_code(raw_phone: str | None, address: str) -> str:
    """Send a new sign-in code to the number (an earlier one stops working); returns the code."""
    phone = phone_number(raw_phone)
    _reserve(phone, address)
    code, row = issue_code(phone)
    try:
        sms_provider(current_app.config).send(phone, SmsKind.LOGIN_CODE, {"code": code}, key=f"code-{row.id}")
    except (DeliveryFailed, ValueError) as err:
        current_app.logger.warning("sign-in code to %s not sent: %s", phone[:-4] + "****", err)
        raise SmsUnavailable(_l("The text message could not be sent. Try again in a minute.")) from err
    return code


def check_code(raw_phone: str | None, code: str | None) -> str | None:
    """The number in E.164 if the code is its current one (the code is then used up), else None.

    Every try is counted first, in one UPDATE, so tries at the same moment cannot pass MAX_TRIES; the
    caller must commit even when the answer is None, or a wrong try would not count.
    """
    phone = phone_number(raw_phone)
    row = db.session.scalar(select(SmsCode).where(SmsCode.phone == phone).order_by(SmsCode.id.desc()).limit(1))
    if row is None or row.expires_at <= utcnow():
        return None
    counted = db.session.execute(
        update(SmsCode)
        .where(SmsCode.id == row.id, SmsCode.attempts < MAX_TRIES)
        .values(attempts=SmsCode.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not counted:
        return None
    code = (code or "").strip()
    if re.fullmatch(r"\d{6}", code) and hmac.compare_digest(row.code_hash, _digest(phone, code)):
        # Deleted by whoever gets here first: a code signs in once.
        used = db.session.execute(delete(SmsCode).where(SmsCode.id == row.id)).rowcount
        return phone if used else None
    db.session.execute(delete(SmsCode).where(SmsCode.id == row.id, SmsCode.attempts >= MAX_TRIES))  # burnt
    return None


def confirm_phone(raw_phone: str | None, code: str | None) -> str:
    """The number in E.164 once its code is checked; the try is committed, then WrongCode if it was wrong."""
    phone = check_code(raw_phone, code)
    db.session.commit()  # a wrong try counts even though this request fails
    if phone is None:
        raise WrongCode(WRONG_CODE)
    return phone


def account_for(phone: str) -> User | None:
    """The user whose number (or user name, the number as dialled at home) this is."""
    home = phone[3:] if phone.startswith("+86") else phone
    return db.session.scalar(select(User).where(or_(User.phone == phone, User.username == home)).limit(1))


def sign_in_user(raw_phone: str | None, code: str | None) -> User:
    """The active user a number and its code sign in; WrongCode, or NotFound-like no_account for a number
    without an account (told only to whoever holds the phone: they had the code)."""
    phone = confirm_phone(raw_phone, code)
    user = account_for(phone)
    if user is None:
        raise PermissionDenied(
            _l("No GridSnap account uses this number. Ask your team coordinator for an invite link."),
            code="no_account",
        )
    if not user.active:
        raise PermissionDenied(_l("This account is switched off. Ask your team coordinator."), code="inactive")
    return user
