"""POST /api/v1/auth/sms/request and /verify: signing in with a phone number and a code by text message."""

from flask import current_app, jsonify, request
from flask_babel import gettext as _

from app.api import bp
from app.auth import codes, services
from app.auth.login import log_in
from app.errors import ValidationFailed
from app.extensions import client_address, db, limiter


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("phone"), str):
        raise ValidationFailed(_('Send {"phone": "..."} as JSON.'), code="invalid_body")
    return body


@bp.route("/auth/sms/request", methods=["POST"])  # limited per number and address by codes.request_code
def sms_request():
    """Send a sign-in code: the same answer whether or not the number has an account."""
    codes.request_code(_body()["phone"], client_address())
    db.session.commit()
    return jsonify({"sent": True, "expires_in": int(codes.CODE_LIFETIME.total_seconds())}), 202


@bp.route("/auth/sms/verify", methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
def sms_verify():
    """Sign in with the code: a session cookie, or with "token": true a personal API token in the answer."""
    body = _body()
    code = body.get("code")
    if not isinstance(code, str):
        raise ValidationFailed(_('Send {"phone": "...", "code": "123456"} as JSON.'), code="invalid_body")
    user = codes.sign_in_user(body["phone"], code)
    out = {"user": {"id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role}}
    if body.get("token") is True:
        _token, out["token"] = services.create_token(user, _("Signed in by text message"))
    else:
        log_in(user, remember=True)
    db.session.commit()
    return jsonify(out)
