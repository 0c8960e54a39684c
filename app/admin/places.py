"""Admin page for the place gazetteer: import a file, add a landmark, search and remove."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app import audit
from app.admin import bp
from app.admin.forms import PlaceImportForm
from app.auth.forms import EmptyForm
from app.errors import DomainError
from app.extensions import db
from app.inputs import page_number
from app.reports import places as gazetteer
from app.reports.models import Place

PER_PAGE = 50
MAX_BYTES = 20 * 1024 * 1024


@bp.route("/places")
def places(import_form=None, problems=None, status=200):
    q = (request.args.get("q") or "").strip()[:60]
    page = page_number(request.args.get("page"))
    query = select(Place)
    if q:
        query = query.where(Place.search.contains(q.lower()))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Place.name, Place.id).limit(PER_PAGE).offset((page - 1) * PER_PAGE))
    return render_template(
        "admin/places.html",
        rows=list(rows),
        q=q,
        page=page,
        per_page=PER_PAGE,
        total=total,
        kinds=gazetteer.KINDS,
        import_form=import_form or PlaceImportForm(),
        problems=problems or [],
        button=EmptyForm(),
    ), status


@bp.route("/places/import", methods=["POST"])
def places_import():
    form = PlaceImportForm()
    if not form.validate_on_submit():
        flash(_("Choose a GeoJSON or CSV file to import."), "error")
        return places(form, status=400)
    data = form.file.data.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        flash(_("The file is too large (at most 20 MB)."), "error")
        return places(form, status=413)
    try:
        result = gazetteer.import_places(data, form.file.data.filename or "")
    except DomainError as err:
        db.session.rollback()
        problems = err.extra.get("problems") or []
        flash(_("Nothing was imported.") if problems else str(err.message), "error")
        return places(form, problems, status=err.status)
    audit.record(
        current_user, "places.import", "place", None, form.file.data.filename or "", {}, {"result": result.summary()}
    )
    db.session.commit()
    flash(
        _(
            "Imported: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.",
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
        ),
        "ok",
    )
    return redirect(url_for("admin.places"))


@bp.route("/places/new", methods=["POST"])
def place_new():
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("admin.places"))
    f = request.form
    try:
        place = gazetteer.add_place(f.get("name", ""), f.get("kind", "landmark"), f.get("lat"), f.get("lon"))
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
        return places(status=err.status)
    audit.record(current_user, "places.add", "place", place.id, place.name, {}, {"kind": place.kind})
    db.session.commit()
    flash(_("%(name)s saved.", name=place.name), "ok")
    return redirect(url_for("admin.places", q=place.name))


@bp.route("/places/delete", methods=["POST"])
def places_delete():
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("admin.places"))
    ids = [int(i) for i in request.form.getlist("id") if i.isdigit()]
    n = gazetteer.delete_places(ids)
    if n:
        audit.record(current_user, "places.delete", "place", None, f"{n}", {"ids": ids[:500]}, {})
    db.session.commit()
    flash(_("%(n)d places removed.", n=n), "ok")
    return redirect(url_for("admin.places", q=request.form.get("q", "")))
