"""How Flask-Login finds the user: a login session named by the cookies, or a Bearer token on API calls;
logging in and out."""

from flask import redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from app.auth.access import wants_bearer
from app.auth.services import end_session, session_for, start_session, user_for_token
from app.errors import error_response, wants_json
from app.extensions import login_manager
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
def load_user(login_id: str):
    token = wants_bearer()
    if token:  # a request that names a token is judged by the token alone, even with a
        return _token_owner(token)  # session or remember-me cookie (Flask-Login tries those first)
    # Cookies from before login sessions (a bare user id, or one with a password stamp) name no row: over.
    login = session_for(login_id)
    return login.user if login is not None else None


def log_in(user: User, remember: bool) -> None:
    """Start a new login of this user in this browser (a new row, so this login alone can be ended)."""
    session.permanent = True
    start_session(user)
    login_user(user, remember=remember)


def log_out() -> None:
    """End this browser's login: its row goes, so copies of its cookies stop working too."""
    if current_user.is_authenticated and current_user.login_session is not None:
        end_session(current_user.login_session)
    logout_user()


@login_manager.request_loader
def load_user_from_request(req):
    token = wants_bearer()
    return _token_owner(token) if token else None


@login_manager.unauthorized_handler
def unauthorized():
    if wants_json() or wants_bearer():
        return error_response(401, "unauthorized", _l("Please log in first."))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
