"""Team pages, invite links with QR codes, joining, the rider's recognition profile and league tables."""

import io

import segno
from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth import codes
from app.auth.access import staff_required
from app.auth.forms import EmptyForm
from app.errors import DomainError, ValidationFailed
from app.extensions import client_address, db, limiter
from app.models import User
from app.teams import badges as badge_rules
from app.teams import bp, points, services
from app.teams.forms import InviteForm, JoinForm, TeamForm


def invite_url(invite) -> str:
    return url_for("teams.join", token=invite.token, _external=True)


@bp.route("/teams")
@login_required
def index():
    return render_template(
        "teams/index.html",
        teams=services.all_teams(),
        counts=services.member_counts(),
        form=TeamForm(),
        can_manage=current_user.is_staff,
    )


@bp.route("/teams/new", methods=["POST"])
@staff_required
def create():
    form = TeamForm()
    if not form.validate_on_submit():
        flash(_("Check the team's name and slogan."), "error")
        return redirect(url_for("teams.index"))
    team = services.save_team(
        None, current_user, name=form.name.data, slogan=form.slogan.data, requires_approval=form.requires_approval.data
    )
    db.session.commit()
    return redirect(url_for("teams.show", team_id=team.id))


@bp.route("/teams/<int:team_id>")
@login_required
def show(team_id: int):
    team = services.get_team(team_id)
    members_shown = services.sees_members(current_user, team)
    page = services.team_page(team, with_members=members_shown)
    staff = current_user.is_staff
    return render_template(
        "teams/show.html",
        page=page,
        staff=staff,
        members_shown=members_shown,
        pending=services.pending_members(team) if staff else [],
        invites=services.team_invites(team) if staff else [],
        leader_ids={u.id for u in page.leaders},
        invite_form=InviteForm(),
        button=EmptyForm(),
        team_form=TeamForm(obj=team) if staff else None,
        invite_url=invite_url,
    )


@bp.route("/teams/<int:team_id>/edit", methods=["POST"])
@staff_required
def edit(team_id: int):
    team = services.get_team(team_id)
    form = TeamForm()
    if not form.validate_on_submit():
        flash(_("Check the team's name and slogan."), "error")
    else:
        services.save_team(
            team,
            current_user,
            name=form.name.data,
            slogan=form.slogan.data,
            requires_approval=form.requires_approval.data,
        )
        db.session.commit()
        flash(_("Team saved."), "ok")
    return redirect(url_for("teams.show", team_id=team.id))


@bp.route("/teams/<int:team_id>/invites", methods=["POST"])
@staff_required
def create_invite(team_id: int):
    team = services.get_team(team_id)
    form = InviteForm()
    if not form.validate_on_submit():
        flash(_("An invite lasts 1 to 90 days."), "error")
        return redirect(url_for("teams.show", team_id=team.id))
    invite = services.create_invite(team, current_user, form.days.data, form.max_uses.data)
    db.session.commit()
    return redirect(url_for("teams.invite", invite_id=invite.id))


@bp.route("/teams/invites/<int:invite_id>")
@staff_required
def invite(invite_id: int):
    inv = services.get_invite(invite_id)
    return render_template("teams/invite.html", invite=inv, url=invite_url(inv), button=EmptyForm())


@bp.route("/teams/invites/<int:invite_id>/qr.svg")
@staff_required
def invite_qr(invite_id: int):
    inv = services.get_invite(invite_id)
    out = io.BytesIO()
    segno.make(invite_url(inv), error="m").save(out, kind="svg", scale=8, border=2, xmldecl=False, title=inv.team.name)
    return Response(out.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "private, no-store"})


@bp.route("/teams/invites/<int:invite_id>/revoke", methods=["POST"])
@staff_required
def revoke_invite(invite_id: int):
    inv = services.get_invite(invite_id)
    if EmptyForm().validate_on_submit():
        services.revoke_invite(inv, current_user)
        db.session.commit()
        flash(_("Invite link withdrawn."), "ok")
    return redirect(url_for("teams.show", team_id=inv.team_id))


@bp.route("/teams/<int:team_id>/members/<int:user_id>/approve", methods=["POST"])
@staff_required
def approve(team_id: int, user_id: int):
    team = services.get_team(team_id)
    user = db.session.get(User, user_id) or abort(404)
    if EmptyForm().validate_on_submit():
        services.approve_member(team, user, current_user)
        db.session.commit()
        flash(_("%(name)s can now file reports.", name=user.display_name), "ok")
    return redirect(url_for("teams.show", team_id=team.id))


@bp.route("/teams/<int:team_id>/members/<int:user_id>/leader", methods=["POST"])
@staff_required
def leader(team_id: int, user_id: int):
    team = services.get_team(team_id)
    user = db.session.get(User, user_id) or abort(404)
    if EmptyForm().validate_on_submit():
        services.set_leader(team, user, current_user, request.form.get("leader") == "1")
        db.session.commit()
    return redirect(url_for("teams.show", team_id=team.id))


def _send_join_code(form: JoinForm, invite):
    """The join form's first step: a code to the number, to be typed back with the rest of the form."""
    try:
        codes.request_code(form.phone.data, client_address())
    except DomainError as err:
        db.session.rollback()
        if err.code == "invalid_phone":
            form.phone.errors = [str(err.message)]
            return render_template("teams/join.html", form=form, invite=invite), err.status
        if err.code not in ("rate_limited", "sms_unavailable"):
            raise
        form.code.errors = [str(err.message)]
        response = make_response(render_template("teams/join.html", form=form, invite=invite, sent=True), err.status)
        if err.extra.get("retry_after"):
            response.headers["Retry-After"] = str(err.extra["retry_after"])
        return response
    db.session.commit()
    return render_template("teams/join.html", form=form, invite=invite, sent=True)


@bp.route("/join/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def join(token: str):
    invite = services.usable_invite(token)
    form = JoinForm()
    if request.method == "POST" and request.form.get("action") == "send":
        return _send_join_code(form, invite)
    if form.validate_on_submit():
        try:
            codes.confirm_phone(form.phone.data, form.code.data)  # the number is theirs
            services.join_team(
                token, display_name=form.display_name.data, phone=form.phone.data, password=form.password.data
            )
            db.session.commit()
        except DomainError as err:
            db.session.rollback()
            if err.code not in ("invalid_phone", "invalid_name", "invalid", "exists", "invalid_code"):
                raise
            if err.code != "exists":  # "exists": the same number joined a moment ago; answered as below
                fields = {"invalid_phone": form.phone, "invalid_code": form.code}
                field = fields.get(err.code, form.display_name)
                field.errors = list(field.errors) + [str(err.message)]
                return render_template("teams/join.html", form=form, invite=invite, sent=True), err.status
        # The same answer whether the number was new (its account is made) or already registered (nothing
        # happened): the rider logs in either way, so nobody learns here who has an account.
        flash(
            _(
                "Thank you. If %(number)s is new to GridSnap, its account is ready: log in with it and the "
                "password you just chose. If it already had an account, nothing was changed: log in to that "
                "account as before.",
                number=services.login_name_for(services.normalise_phone(form.phone.data)),
            ),
            "info",
        )
        return redirect(url_for("auth.login_password", next=url_for("teams.welcome")))
    status = 400 if request.method == "POST" else 200
    return render_template("teams/join.html", form=form, invite=invite, sent=request.method == "POST"), status


@bp.route("/welcome")
@login_required
def welcome():
    return render_template("teams/welcome.html", team=current_user.team)


def _profile(user: User):
    held = badge_rules.badges_for(user.id)
    return render_template(
        "teams/profile.html",
        person=user,
        total=points.total_points(user.id),
        week=points.points_for([user.id], *points.period_bounds("week"))[user.id],
        month=points.points_for([user.id], *points.period_bounds("month"))[user.id],
        badges=held,
        all_badges=badge_rules.BADGES,
        progress=badge_rules.progress_for(user.id, held),
        by_status=badge_rules.reports_by_status(user.id),
    )


@bp.route("/me/points")
@login_required
def my_profile():
    return _profile(current_user)


@bp.route("/riders/<int:user_id>")
@staff_required
def rider_profile(user_id: int):
    return _profile(db.session.get(User, user_id) or abort(404))


@bp.route("/leaderboard")
@login_required
def leaderboard():
    period = request.args.get("period") or "week"
    if period not in ("week", "month"):  # refused, not quietly shown as this week
        raise ValidationFailed(_("period must be week or month."), code="invalid_period")
    start, end = points.period_bounds(period)
    tally = points.period_tally(start, end)  # one computation of the period's awards for both tables
    return render_template(
        "teams/leaderboard.html",
        period=period,
        start=start,
        end=end,
        teams=points.leaderboard(start, end, by="team", tally=tally),
        volunteers=points.leaderboard(start, end, by="volunteer", limit=50, tally=tally),
    )
