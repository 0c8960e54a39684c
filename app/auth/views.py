"""Login, logout, profile with password and API tokens, and the language switch."""

from flask import current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, logout_user

from app.auth import bp, codes, services, throttle
from app.auth.access import home_endpoint, safe_next
from app.auth.forms import EmptyForm, LoginForm, PasswordChangeForm, SmsLoginForm, TokenForm
from app.auth.login import log_in, log_out
from app.errors import DomainError, ValidationFailed, error_response
from app.extensions import client_address, db, limiter
from app.i18n import set_language_cookie


def _home_for(user) -> str:
    return url_for(home_endpoint(user))


def _known_device() -> bool:
    """Whether the account this login names has logged in on this browser before."""
    return throttle.known_device(throttle.account_key(request.form.get("username"))) is not None


def _sms_page(form, status=200, *, sent=False, error=None):
    response = make_response(render_template("auth/login_sms.html", form=form, sent=sent, error=error), status)
    if error is not None and error.extra.get("retry_after"):
        response.headers["Retry-After"] = str(error.extra["retry_after"])
    return response


@bp.route("/login", methods=["GET"])
def login():
    """Riders sign in with their phone number and a code by text message (the password form is one link away)."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), _home_for(current_user)))
    return _sms_page(SmsLoginForm(formdata=None))


def _sending_code() -> bool:
    return request.form.get("action") != "verify"


@bp.route("/login/sms", methods=["POST"])  # sending a code is limited by codes.request_code; tries by this
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], exempt_when=_sending_code)
def login_sms():
    form = SmsLoginForm()
    sending = _sending_code()
    if not form.validate_on_submit():
        return _sms_page(form, 400, sent=not sending)
    try:
        if sending:
            codes.request_code(form.phone.data, client_address())
            db.session.commit()
            return _sms_page(form, sent=True)
        user = codes.sign_in_user(form.phone.data, form.code.data)
    except DomainError as err:
        db.session.rollback()
        field = {"invalid_phone": form.phone, "invalid_code": form.code}.get(err.code)
        if field is not None:
            field.errors = list(field.errors) + [str(err.message)]
        return _sms_page(form, err.status, sent=not sending or err.code == "rate_limited", error=err)
    log_in(user, remember=True)
    db.session.commit()
    return redirect(safe_next(request.args.get("next"), _home_for(user)))


@bp.route("/login/password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], exempt_when=_known_device)
def login_password():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), _home_for(current_user)))
    form = LoginForm()
    if form.validate_on_submit():
        account = throttle.account_key(form.username.data)
        wait = throttle.wait(account)
        if wait:
            response = make_response(
                error_response(
                    429,
                    "rate_limited",
                    _(
                        "Too many failed logins for this account. Try again later, or on a phone where you have "
                        "logged in before."
                    ),
                )
            )
            response.headers["Retry-After"] = str(wait)
            return response
        user = services.authenticate(form.username.data, form.password.data)
        if user is None:
            throttle.note_failure(account)
            return render_template("auth/login.html", form=form, failed=True), 400
        log_in(user, remember=form.remember.data)
        db.session.commit()
        response = redirect(safe_next(request.args.get("next"), _home_for(user)))
        throttle.remember_device(response, account)
        return response
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        log_out()
        db.session.commit()
    return redirect(url_for("auth.login"))


@bp.route("/logout/everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    if EmptyForm().validate_on_submit():
        services.end_sessions(current_user)
        db.session.commit()
        logout_user()
        flash(_("You are logged out on every device."), "ok")
    return redirect(url_for("auth.login"))


def _profile_page(status=200, *, password_form=None, new_token=None):
    return render_template(
        "auth/profile.html",
        tokens=services.user_tokens(current_user),
        form=TokenForm(formdata=None),
        revoke_form=EmptyForm(),
        password_form=password_form or PasswordChangeForm(formdata=None),
        new_token=new_token,
    ), status


@bp.route("/profile", methods=["GET"])
@login_required
def profile():
    return _profile_page()


@bp.route("/profile/password", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])  # an oracle for the current password otherwise
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            ended = services.change_password(current_user, form.current_password.data, form.password.data)
        except ValidationFailed as err:
            form.current_password.errors = list(form.current_password.errors) + [str(err.message)]
        else:
            db.session.commit()
            flash(
                ngettext(
                    "Password changed. %(num)d other login was ended.",
                    "Password changed. %(num)d other logins were ended.",
                    ended,
                ),
                "ok",
            )
            return redirect(url_for("auth.profile"))
    return _profile_page(400, password_form=form)


@bp.route("/profile/tokens", methods=["POST"])
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        flash(_("The token name is too long."), "error")
        return redirect(url_for("auth.profile"))
    _token, plain = services.create_token(current_user, form.name.data)
    db.session.commit()
    return _profile_page(new_token=plain)


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    if EmptyForm().validate_on_submit():
        services.revoke_token(current_user, token_id)
        db.session.commit()
        flash(_("Token revoked."), "ok")
    return redirect(url_for("auth.profile"))


@bp.route("/lang/<code>")
def set_language(code: str):
    response = redirect(safe_next(request.args.get("next"), url_for("pages.index")))
    if code in current_app.config["LANGUAGES"]:
        # Its own cookie, written only here: no other request's session write can undo the switch.
        set_language_cookie(response, code)
        session.pop("lang", None)
    return response
