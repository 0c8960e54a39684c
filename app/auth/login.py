"""How Flask-Login finds the user: the session cookie, or a Bearer token on API calls."""
import hmac

from flask import current_app, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login.utils import decode_cookie

from app.auth.access import wants_bearer
from app.auth.services import password_was_reset, user_for_token
from app.errors import error_response, wants_json
from app.extensions import db, login_manager
from app.inputs import record_id
from app.models import User

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please log in first.")
login_manager.login_message_category = "info"


def _token_owner(token: str):
    user = user_for_token(token)
    if user is None:
        from app.security import note_token_failure
        note_token_failure()
    return user


@login_manager.user_loader
def load_user(user_id: str):
    token = wants_bearer()
    if token:  # a request that names a token is judged by the token alone, even with a
        return _token_owner(token)  # session or remember-me cookie (Flask-Login tries those first)
    row_id, _dot, stamp = user_id.partition(".")
    number = record_id(row_id)
    user = db.session.get(User, number) if number else None
    if user is None or not user.active:
        return None
    # A login from before the last password change is over.
    if stamp and not hmac.compare_digest(stamp, user.password_stamp()):
        return None
    if not stamp:
        # A login made before stamps existed (a bare id): it cannot say which password it was made with,
        # so it ends once an administrator has reset the password (what a reset after a lost phone is
        # for); otherwise it carries on under a stamped id from now on, nobody logged out by the upgrade.
        if password_was_reset(user.id):
            return None
        _restamp(user)
    return user


def _restamp(user: User) -> None:
    """Keep this login under the stamped id: in the session, and in a new remember-me cookie when the
    login came with one of its own (Flask-Login writes it on the way out); any other cookie is left alone."""
    bare = str(user.id)
    session["_user_id"] = user.get_id()
    cookie = request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    if cookie and decode_cookie(cookie) == bare:
        session["_remember"] = "set"


@login_manager.request_loader
def load_user_from_request(req):
    token = wants_bearer()
    return _token_owner(token) if token else None


@login_manager.unauthorized_handler
def unauthorized():
    if wants_json() or wants_bearer():
        return error_response(401, "unauthorized", _l("Please log in first."))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
