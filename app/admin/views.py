"""Admin pages (admins only): users, categories, departments, grids, teams and invites, templates, audit."""

import json
from datetime import datetime, time, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app import audit
from app.admin import bp, services
from app.admin.forms import (
    CategoryForm,
    DepartmentForm,
    GridForm,
    GridImportForm,
    MemberForm,
    NewUserForm,
    PasswordResetForm,
    TemplateForm,
    UserForm,
)
from app.auth.forms import EmptyForm
from app.errors import DomainError, ValidationFailed
from app.extensions import db
from app.grids import services as grids
from app.i18n import local_zone, role_label
from app.inputs import day, id_filter, page_number
from app.models import ROLES
from app.teams import services as teams
from app.text import clean_text
from app.triage.workflow import LABELS

PER_PAGE = 50
MAX_GEOJSON_BYTES = 20 * 1024 * 1024

# Globals, not context: the audit macro is imported without context.
bp.add_app_template_global(audit.action_label, "action_label")
bp.add_app_template_global(audit.target_label, "target_label")
bp.add_app_template_global(audit.field_label, "field_label")


@bp.before_request
def admins_only():
    """Every admin page: log in first (401/redirect), then admins only (403)."""
    if not current_user.is_authenticated:
        from app.extensions import login_manager

        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    return None


def _refused(err: DomainError, form=None):
    """Roll back and show a service's refusal next to the form."""
    db.session.rollback()
    flash(str(err.message), "error")
    if form is not None:
        form.form_errors = list(form.form_errors) + [str(err.message)]
    return err.status


def _save(form, apply, done, page, message=None):
    """A posted edit form: validate, apply the service, commit, flash and redirect to `done` (a URL, or a
    function of what the service returned: a new row's page); else `page(status)`, the form again with
    its errors (400) or the service's refusal."""
    if not form.validate_on_submit():
        return page(400)
    try:
        saved = apply()
        db.session.commit()
    except DomainError as err:
        return page(_refused(err, form))
    flash(_("Saved.") if message is None else message, "ok")
    return redirect(done(saved) if callable(done) else done)


def _page() -> int:
    return page_number(request.args.get("page"))


def _none_choice(label):
    return [(0, label)]


def _department_choices():
    return _none_choice(_("None")) + [
        (d.id, f"{d.code} · {d.name_zh} · {d.name_en}") for d in services.all_departments()
    ]


@bp.route("/")
def index():
    return render_template("admin/index.html")


# --- users -------------------------------------------------------------------------------


@bp.route("/users")
def users():
    query, role = request.args.get("q", "")[:40], request.args.get("role", "")
    team_id = id_filter(request.args.get("team"), "team")
    state = request.args.get("state", "")
    if state not in ("", "active", "inactive"):
        raise ValidationFailed(_("state must be active or inactive."), code="invalid_state")
    active = {"active": True, "inactive": False}.get(state)
    rows, total = services.list_users(query, role, team_id, active, _page(), PER_PAGE)
    return render_template(
        "admin/users.html",
        rows=rows,
        total=total,
        page=_page(),
        per_page=PER_PAGE,
        q=query,
        role=role,
        team_id=team_id,
        state=state,
        roles=ROLES,
        teams=teams.all_teams(),
    )


def _user_form(user, form_class=UserForm):
    form = form_class(obj=user if request.method == "GET" else None)
    form.role.choices = [(r, role_label(r)) for r in ROLES]
    form.team_id.choices = _none_choice(_("No team")) + [(t.id, t.name) for t in teams.all_teams()]
    form.department_id.choices = _department_choices()
    if request.method == "GET" and user is not None:
        form.team_id.data, form.department_id.data = user.team_id or 0, user.department_id or 0
    return form


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form = _user_form(None, NewUserForm)

    def page(status=200):
        return render_template("admin/new_user.html", form=form), status

    if request.method == "POST":
        return _save(
            form,
            lambda: services.create_account(
                current_user,
                username=form.username.data,
                display_name=form.display_name.data,
                role=form.role.data,
                password=form.password.data,
                phone=form.phone.data or "",
                team_id=form.team_id.data or None,
                department_id=form.department_id.data or None,
            ),
            lambda person: url_for("admin.user", user_id=person.id),
            page,
            _("Account created."),
        )
    return page()


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):
    person = services.get_user(user_id)
    form = _user_form(person)

    def page(status=200):
        return render_template(
            "admin/user.html",
            person=person,
            form=form,
            password_form=PasswordResetForm(),
            history=audit.entries(1, 20, "user", target_id=str(person.id))[0],
        ), status

    if request.method == "POST":
        return _save(
            form,
            lambda: services.update_user(
                person,
                current_user,
                display_name=form.display_name.data,
                role=form.role.data,
                team_id=form.team_id.data or None,
                department_id=form.department_id.data or None,
                active=form.active.data,
            ),
            url_for("admin.user", user_id=person.id),
            page,
        )
    return page()


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id: int):
    person = services.get_user(user_id)
    form = PasswordResetForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        return render_template(
            "admin/user.html",
            person=person,
            form=_user_form(person),
            password_form=form,
            history=audit.entries(1, 20, "user", target_id=str(person.id))[0],
        ), 400
    revoked = services.reset_password(person, current_user, form.password.data)
    db.session.commit()
    flash(_("New password set. Tell %(name)s in person or by phone.", name=person.display_name), "ok")
    flash(
        ngettext(
            "Their logins have ended and %(num)d API token was revoked.",
            "Their logins have ended and %(num)d API tokens were revoked.",
            revoked,
        ),
        "ok",
    )
    return redirect(url_for("admin.user", user_id=person.id))


# --- categories --------------------------------------------------------------------------


@bp.route("/categories")
def categories():
    return render_template("admin/categories.html", rows=services.all_categories())


@bp.route("/categories/new", methods=["GET", "POST"], defaults={"category_id": None})
@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
def category(category_id):
    cat = services.get_category(category_id) if category_id else None
    form = CategoryForm(obj=cat if request.method == "GET" else None)
    form.icon.choices = [(i, i) for i in services.ICONS]
    form.default_department_id.choices = _department_choices()
    if request.method == "GET" and cat is not None:
        form.default_department_id.data = cat.default_department_id or 0

    def page(status=200):
        return render_template("admin/category.html", form=form, category=cat), status

    if request.method == "POST":
        return _save(
            form,
            lambda: services.save_category(
                cat,
                current_user,
                code=form.code.data,
                name_zh=form.name_zh.data,
                name_en=form.name_en.data,
                icon=form.icon.data,
                hazard=form.hazard.data,
                accept_hours=form.accept_hours.data,
                resolve_hours=form.resolve_hours.data,
                active=form.active.data,
                default_department_id=form.default_department_id.data or None,
                own_department=form.own_department.data,
                sort_order=form.sort_order.data if form.sort_order.data is not None else 100,
            ),
            url_for("admin.categories"),
            page,
        )
    return page()


# --- departments ------------------------------------------------------------------------


@bp.route("/departments", methods=["GET", "POST"])
def departments():
    form = DepartmentForm()

    def page(status=200):
        return render_template(
            "admin/departments.html", rows=services.all_departments(), form=form, counts=services.member_counts()
        ), status

    if request.method == "POST":
        return _save(
            form,
            lambda: services.save_department(
                None, current_user, code=form.code.data, name_zh=form.name_zh.data, name_en=form.name_en.data
            ),
            lambda dept: url_for("admin.department", department_id=dept.id),
            page,
        )
    return page()


@bp.route("/departments/<int:department_id>", methods=["GET", "POST"])
def department(department_id: int):
    dept = services.get_department(department_id)
    form = DepartmentForm(obj=dept if request.method == "GET" else None)

    def page(status=200):
        return render_template(
            "admin/department.html",
            department=dept,
            form=form,
            member_form=MemberForm(),
            button=EmptyForm(),
            members=services.department_members(dept),
        ), status

    if request.method == "POST":
        return _save(
            form,
            lambda: services.save_department(
                dept, current_user, code=form.code.data, name_zh=form.name_zh.data, name_en=form.name_en.data
            ),
            url_for("admin.department", department_id=dept.id),
            page,
        )
    return page()


@bp.route("/departments/<int:department_id>/members", methods=["POST"])
def add_member(department_id: int):
    dept = services.get_department(department_id)
    form = MemberForm()
    if not form.validate_on_submit():
        flash(_("Enter the user name of the person to add."), "error")
        return redirect(url_for("admin.department", department_id=dept.id))
    try:
        person = services.add_member(dept, current_user, form.username.data)
        db.session.commit()
        flash(_("%(name)s now handles this department's reports.", name=person.display_name), "ok")
    except DomainError as err:
        _refused(err)
    return redirect(url_for("admin.department", department_id=dept.id))


@bp.route("/departments/<int:department_id>/members/<int:user_id>/remove", methods=["POST"])
def remove_member(department_id: int, user_id: int):
    dept = services.get_department(department_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.remove_member(dept, current_user, services.get_user(user_id))
    db.session.commit()
    flash(_("Removed from the department."), "ok")
    return redirect(url_for("admin.department", department_id=dept.id))


@bp.route("/departments/<int:department_id>/delete", methods=["POST"])
def delete_department(department_id: int):
    dept = services.get_department(department_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.delete_department(dept, current_user)
        db.session.commit()
        flash(_("Department removed."), "ok")
        return redirect(url_for("admin.departments"))
    except DomainError as err:
        _refused(err)
        return redirect(url_for("admin.department", department_id=department_id))


# --- grids -------------------------------------------------------------------------------


@bp.route("/grids")
def grids_index(import_form=None, problems=None, status=200):
    rows = grids.all_grids()
    return render_template(
        "admin/grids.html",
        rows=rows,
        import_form=import_form or GridImportForm(),
        problems=problems or [],
        button=EmptyForm(),
        geojson=json.dumps(grids.export_grids(), ensure_ascii=False),
    ), status


@bp.route("/grids/import", methods=["POST"])
def grids_import():
    form = GridImportForm()
    if not form.validate_on_submit():
        flash(_("Choose a GeoJSON file to import."), "error")
        return grids_index(form, status=400)
    data = form.file.data.read(MAX_GEOJSON_BYTES + 1)
    if len(data) > MAX_GEOJSON_BYTES:
        flash(_("The file is too large (at most 20 MB)."), "error")
        return grids_index(form, status=413)
    try:
        result = grids.import_grids(data, current_user)
    except DomainError as err:
        db.session.rollback()
        problems = err.extra.get("problems") or []
        flash(_("Nothing was imported.") if problems else str(err.message), "error")
        return grids_index(form, problems, status=err.status)
    db.session.commit()
    flash(
        _(
            "Imported: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.",
            created=len(result.created),
            updated=len(result.updated),
            unchanged=len(result.unchanged),
        ),
        "ok",
    )
    if result.created or result.updated:
        return redirect(url_for("admin.regrid"))
    return redirect(url_for("admin.grids_index"))


@bp.route("/grids/export.geojson")
def grids_export():
    body = json.dumps(grids.export_grids(), ensure_ascii=False)
    return Response(
        body, mimetype="application/geo+json", headers={"Content-Disposition": "attachment; filename=grids.geojson"}
    )


@bp.route("/grids/<int:grid_id>", methods=["GET", "POST"])
def grid(grid_id: int):
    area = grids.get_grid(grid_id)
    form = GridForm(obj=area if request.method == "GET" else None)
    form.worker_id.choices = _none_choice(_("None")) + [
        (u.id, f"{u.display_name} ({u.username})") for u in services.grid_worker_candidates(area)
    ]
    form.department_id.choices = _department_choices()
    if request.method == "GET":
        form.worker_id.data, form.department_id.data = area.worker_id or 0, area.department_id or 0

    def page(status=200):
        return render_template(
            "admin/grid.html",
            grid=area,
            form=form,
            button=EmptyForm(),
            geojson=json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "properties": {"code": area.code, "name": area.name},
                            "geometry": area.geometry,
                        }
                    ],
                },
                ensure_ascii=False,
            ),
        ), status

    if request.method == "POST":
        return _save(
            form,
            lambda: grids.update_grid(
                area,
                current_user,
                name=form.name.data,
                worker_id=form.worker_id.data or None,
                department_id=form.department_id.data or None,
            ),
            url_for("admin.grids_index"),
            page,
        )
    return page()


@bp.route("/grids/<int:grid_id>/delete", methods=["POST"])
def delete_grid(grid_id: int):
    area = grids.get_grid(grid_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    grids.delete_grid(area, current_user)
    db.session.commit()
    flash(_("Grid removed."), "ok")
    return redirect(url_for("admin.regrid"))


@bp.route("/grids/regrid", methods=["GET", "POST"])
def regrid():
    if request.method == "POST":
        if not EmptyForm().validate_on_submit():
            abort(400)
        moved = grids.regrid_open_reports(current_user)
        db.session.commit()
        flash(_("%(n)d open reports moved to their new grid.", n=moved), "ok")
        return redirect(url_for("admin.grids_index"))
    moves = grids.regrid_preview()
    names = {g.id: g for g in grids.all_grids()}
    return render_template("admin/regrid.html", moves=moves[:200], total=len(moves), grids=names, button=EmptyForm())


# --- teams and invites -------------------------------------------------------------------


@bp.route("/teams")
def teams_index():
    all_teams = teams.all_teams()
    invites = {t.id: teams.team_invites(t) for t in all_teams}
    return render_template(
        "admin/teams.html",
        teams=all_teams,
        counts=teams.member_counts(),
        invites=invites,
        now=datetime.now(local_zone()),
    )


# --- response templates -----------------------------------------------------------------


def _status_choices():
    return [(s.value, str(label)) for s, label in LABELS.items()]


@bp.route("/templates")
def templates():
    return render_template("admin/templates.html", rows=services.all_templates(), button=EmptyForm())


@bp.route("/templates/new", methods=["GET", "POST"], defaults={"template_id": None})
@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
def template(template_id):
    tpl = services.get_template(template_id) if template_id else None
    form = TemplateForm(obj=tpl if request.method == "GET" else None)
    form.target_status.choices = _status_choices()

    def page(status=200):
        return render_template("admin/template.html", form=form, template=tpl), status

    if request.method == "POST":
        return _save(
            form,
            lambda: services.save_template(
                tpl,
                current_user,
                target_status=form.target_status.data,
                text_zh=form.text_zh.data,
                text_en=form.text_en.data,
                sort_order=form.sort_order.data if form.sort_order.data is not None else 100,
            ),
            url_for("admin.templates"),
            page,
        )
    return page()


@bp.route("/templates/<int:template_id>/delete", methods=["POST"])
def delete_template(template_id: int):
    tpl = services.get_template(template_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.delete_template(tpl, current_user)
    db.session.commit()
    flash(_("Template removed."), "ok")
    return redirect(url_for("admin.templates"))


# --- audit log ---------------------------------------------------------------------------


def _day(value: str, what: str):
    """A local date from a yyyy-mm-dd filter, as an aware datetime at local midnight (None if unset)."""
    when = day(value, what)
    return datetime.combine(when, time.min, tzinfo=local_zone()) if when else None


@bp.route("/audit")
def audit_log():
    args = request.args
    since, until = _day(args.get("from", ""), "from"), _day(args.get("to", ""), "to")
    rows, total = audit.entries(
        _page(),
        PER_PAGE,
        target_type=clean_text(args.get("type"))[:40] or None,
        actor_id=id_filter(args.get("actor"), "actor"),
        action=clean_text(args.get("action"))[:40] or None,
        since=since,
        until=until + timedelta(days=1) if until else None,
    )
    return render_template(
        "admin/audit.html",
        rows=rows,
        total=total,
        page=_page(),
        per_page=PER_PAGE,
        types=audit.target_types(),
        actors=audit.actors(),
        args=args,
    )
