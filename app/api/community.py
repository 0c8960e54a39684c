"""/api/v1 community data: league tables, grid areas as GeoJSON, teams with member counts."""

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import login_required

from app.api import bp
from app.errors import ValidationFailed
from app.i18n import iso


@bp.route("/leaderboard")
@login_required
def leaderboard():
    """This week's or month's league table of teams or volunteers (display names only)."""
    from app.teams.points import leaderboard as table
    from app.teams.points import period_bounds

    period = request.args.get("period", "week")
    by = request.args.get("by", "team")
    if period not in ("week", "month"):
        raise ValidationFailed(_("period must be week or month."), code="invalid_period")
    if by not in ("team", "volunteer"):
        raise ValidationFailed(_("by must be team or volunteer."), code="invalid_by")
    start, end = period_bounds(period)
    rows = table(start, end, by=by)
    out = []
    for r in rows:
        row = {"rank": r.rank, "name": r.name, "points": r.points, "reports": r.reports, "fixed": r.fixed}
        if by == "team":
            row.update({"total_points": r.total_points, "members": r.members})
        out.append(row)
    return jsonify({"period": period, "by": by, "start": iso(start), "end": iso(end), "rows": out})


@bp.route("/grids")
@login_required
def grids():
    """Every grid area as a GeoJSON FeatureCollection."""
    from app.grids.services import export_grids

    return jsonify(export_grids())


@bp.route("/places")
@login_required
def places():
    """The place search: q (name, pinyin initials or pinyin), nearest first when lat and lon are given."""
    from app.reports.places import search

    limit = request.args.get("limit", "10")
    if not limit.isdigit() or not 1 <= int(limit) <= 50:
        raise ValidationFailed(_("limit must be a whole number from 1 to 50."), code="invalid_limit")
    items = search(request.args.get("q", ""), request.args.get("lat"), request.args.get("lon"), limit=int(limit))
    return jsonify({"items": items})


@bp.route("/teams")
@login_required
def teams():
    """The teams with their member counts."""
    from app.teams.services import all_teams, member_counts

    counts = member_counts()
    return jsonify(
        {
            "teams": [
                {
                    "id": t.id,
                    "name": t.name,
                    "slogan": t.slogan,
                    "requires_approval": t.requires_approval,
                    "members": counts.get(t.id, (0, 0))[0],
                }
                for t in all_teams()
            ]
        }
    )
