"""Login, logout, profile with API tokens, and the language switch."""
from flask import (current_app, flash, redirect, render_template, request, session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp
from app.auth import services
from app.auth.access import safe_next
from app.auth.forms import EmptyForm, LoginForm, TokenForm
from app.extensions import db, limiter


def _home_for(user) -> str:
    return url_for("triage.board") if user.role in ("coordinator", "admin") else (
        url_for("triage.my_tasks") if user.role == "handler" else url_for("reports.new"))


def _login_account() -> str:
    """The rate-limit key of the account a login names (however many addresses try it)."""
    return "login-account:" + (request.form.get("username") or "").strip().lower()[:80]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"], methods=["POST"], key_func=_login_account,
               deduct_when=lambda response: response.status_code == 400)  # failed tries only
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), _home_for(current_user)))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.username.data, form.password.data)
        if user is None:
            flash(_("Wrong user name or password."), "error")
            return render_template("auth/login.html", form=form), 400
        session.permanent = True
        login_user(user, remember=form.remember.data)
        return redirect(safe_next(request.args.get("next"), _home_for(user)))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET"])
@login_required
def profile():
    return render_template("auth/profile.html", tokens=services.user_tokens(current_user),
                           form=TokenForm(), revoke_form=EmptyForm(), new_token=None)


@bp.route("/profile/tokens", methods=["POST"])
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        flash(_("The token name is too long."), "error")
        return redirect(url_for("auth.profile"))
    _token, plain = services.create_token(current_user, form.name.data)
    db.session.commit()
    return render_template("auth/profile.html", tokens=services.user_tokens(current_user),
                           form=TokenForm(formdata=None), revoke_form=EmptyForm(), new_token=plain)


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
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("pages.index")))
