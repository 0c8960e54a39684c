"""How Flask-Login finds the user: the session cookie, or a Bearer token on API calls."""
import hmac

from flask import redirect, request, url_for
from flask_babel import lazy_gettext as _l

from app.auth.access import wants_bearer
from app.auth.services import user_for_token
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
    # A login from before the last password change is over. Ids without a stamp come from logins
    # made before stamps existed: still honoured, so nobody is logged out by the upgrade.
    if stamp and not hmac.compare_digest(stamp, user.password_stamp()):
        return None
    return user


@login_manager.request_loader
def load_user_from_request(req):
    token = wants_bearer()
    return _token_owner(token) if token else None


@login_manager.unauthorized_handler
def unauthorized():
    if wants_json() or wants_bearer():
        return error_response(401, "unauthorized", _l("Please log in first."))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
