"""The demo data (app.demo.load_demo) loaded into the live app once for a test module, and the pages each role
opens over it: shared by the page sweep and the accessibility check."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.demo import load_demo
from app.extensions import db
from app.models import Report, Team, User
from app.summaries.weeks import week_of
from app.teams import services as teams
from tests.conftest import _clean


class Site:
    """The demo data's ids that the page list needs."""


def build_site(live_app, url: str) -> Site:
    """Empty the live app's tables, load the demo and a team invite (a member who joined by phone, a leader)."""
    with live_app.app_context():
        _clean(live_app)
        load_demo(18)
        s = Site()
        s.url = url
        users = {u.username: u for u in db.session.scalars(select(User))}
        mine = list(
            db.session.scalars(select(Report).where(Report.user_id == users["rider_zhang"].id).order_by(Report.id))
        )
        s.rider_reports = [r.id for r in mine]
        s.rider_team = users["rider_zhang"].team_id
        # A report dispatched by grid (属地) to its grid worker, a handler: their task list and its page.
        dispatched = db.session.scalars(
            select(Report)
            .where(Report.status.in_(("assigned", "in_progress")), Report.assignee_id.is_not(None))
            .order_by(Report.id)
        ).first()
        s.dispatched, s.handler = dispatched.id, dispatched.assignee.username
        s.open_report = db.session.scalar(select(Report.id).where(Report.status == "submitted").order_by(Report.id))
        team = db.session.get(Team, s.rider_team)
        invite = teams.create_invite(team, users["coord_wang"], 7)
        db.session.commit()
        # a member who joined with a phone number (shown masked to staff) and a team leader
        teams.join_team(invite.token, display_name="新来的骑手", phone="13900001234", password="a-long-password-1")
        teams.set_leader(team, users["rider_zhang"], users["coord_wang"], True)
        db.session.commit()
        s.invite, s.join = invite.id, f"/join/{invite.token}"
        s.week = week_of(datetime.now(UTC), ZoneInfo(live_app.config["TIMEZONE"])).name
        s.rider_id = users["rider_zhang"].id
        db.session.remove()
    return s


def pages(s: Site):
    """(user or None, paths, rider page?) for every role."""
    return [
        (None, ["/login", "/login/password", s.join], True),
        (
            "rider_zhang",
            [
                "/report",
                "/mine",
                *[f"/reports/{i}" for i in s.rider_reports],
                f"/reports/{s.rider_reports[0]}/filed",
                f"/reports/{s.rider_reports[0]}/receipt",
                "/me/points",
                "/leaderboard",
                "/leaderboard?period=month",
                "/teams",
                f"/teams/{s.rider_team}",
                "/welcome",
                "/profile",
            ],
            True,
        ),
        (
            "coord_wang",
            [
                "/board",
                "/board?status=closed",
                "/board?view=map",
                f"/board/reports/{s.open_report}",
                f"/board/reports/{s.rider_reports[-1]}",
                "/teams",
                f"/teams/{s.rider_team}",
                f"/teams/invites/{s.invite}",
                f"/riders/{s.rider_id}",
                "/summaries/",
                f"/summaries/{s.week}",
                "/summaries/trends",
                "/profile",
            ],
            False,
        ),
        (s.handler, ["/tasks", f"/board/reports/{s.dispatched}"], False),
    ]


def settles_late(path: str) -> bool:
    """Pages that fetch more after "load": the maps (tiles, the board's points) and the report form."""
    return path == "/report" or "view=map" in path or path.startswith(("/board/reports/", "/summaries/2"))


def visit(page, path: str):
    """Open a page of the sweep and wait until it has settled; returns the response."""
    response = page.goto(path)
    if settles_late(path):
        page.wait_for_load_state("networkidle")
    return response
