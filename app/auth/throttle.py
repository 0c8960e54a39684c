"""Slowing password guessing without letting anyone lock an account out.

A failed login is counted for its account (from anywhere), for the account from its address, and for the
account on a known device: a browser where the account logged in before carries a signed cookie saying so.
Once an account's failures reach LOGIN_ACCOUNT_RATE_LIMIT, the addresses that failed for it wait; an address
that has not, and a known device, are still heard (a known device waits only for its own failures). Guessing
stays slow, and failures from elsewhere never refuse the right password from a phone or address that was not
failing (a rider's user name is their phone number: anyone can type it).
"""

import hashlib
import hmac
import math
import secrets
import time

from flask import Response, current_app, request, url_for
from itsdangerous import BadData, URLSafeSerializer
from limits import parse

from app.extensions import client_address, limiter

DEVICE_COOKIE = "gs_device"
DEVICE_ACCOUNTS = 5  # accounts one device remembers (a phone a few riders share)


def account_key(username: str | None) -> str:
    """The account a login names, however it is typed."""
    return (username or "").strip().lower()[:80]


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="known-device")


def _mark(account: str) -> str:
    """The account as the cookie names it: a keyed digest, not the user name (often a phone number)."""
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, b"known-device:" + account.encode(), hashlib.sha256).hexdigest()[:16]


def _device() -> dict:
    try:
        data = _signer().loads(request.cookies.get(DEVICE_COOKIE, ""))
    except BadData:
        return {}
    return data if isinstance(data, dict) and isinstance(data.get("a"), list) else {}


def known_device(account: str) -> str | None:
    """This browser's device id if the account has logged in on it before."""
    device = _device()
    return device.get("d") if _mark(account) in device.get("a", []) else None


def _seconds(stats) -> int:
    return max(1, math.ceil(stats.reset_time - time.time()))


def wait(account: str) -> int:
    """Seconds before this browser may try a password for the account again (0: try now)."""
    if not limiter.enabled:
        return 0
    limit, counts = parse(current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]), limiter.limiter
    try:
        device = known_device(account)
        if device:
            own = counts.get_window_stats(limit, "login-device", account, device)
            return 0 if own.remaining > 0 else _seconds(own)
        everywhere = counts.get_window_stats(limit, "login-account", account)
        here = counts.get_window_stats(limit, "login-address", account, client_address())
    except Exception as err:  # the limits' store is down: answer as without it, like Flask-Limiter
        current_app.logger.warning("login failures not checked: %s", err)
        return 0
    if everywhere.remaining > 0 or here.remaining == limit.amount:
        return 0
    return min(_seconds(everywhere), _seconds(here))


def note_failure(account: str) -> None:
    """Count a wrong password (or unknown user name) for the account, its address and a known device."""
    if not limiter.enabled:
        return
    limit, counts = parse(current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]), limiter.limiter
    try:
        counts.hit(limit, "login-account", account)
        counts.hit(limit, "login-address", account, client_address())
        device = known_device(account)
        if device:
            counts.hit(limit, "login-device", account, device)
    except Exception as err:
        current_app.logger.warning("login failure not counted: %s", err)


def remember_device(response: Response, account: str) -> None:
    """After a successful login: this browser is a known device for the account from now on."""
    device, mark = _device(), _mark(account)
    marks = [m for m in device.get("a", []) if m != mark][-(DEVICE_ACCOUNTS - 1) :] + [mark]
    value = _signer().dumps({"d": device.get("d") or secrets.token_urlsafe(16), "a": marks})
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=current_app.config["REMEMBER_COOKIE_DURATION"],
        path=url_for("auth.login"),
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )
