"""Teams: invite links (expired, revoked, used up), joining, approval, deactivation, team pages and API."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit import AuditLog
from app.errors import ValidationFailed
from app.extensions import db
from app.models import Team, User, utcnow
from app.teams import services
from app.teams.models import TeamInvite
from tests import factories as f

PHONE = "138 0013 8000"
E164 = "+8613800138000"


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English: the assertions read the source strings (the default language is Chinese)."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def make_team(name="犍路先锋", requires_approval=False):
    team = Team(name=name, slogan="路在脚下", requires_approval=requires_approval)
    db.session.add(team)
    db.session.commit()
    return team


def make_invite(team, days=7, max_uses=None):
    coord = db.session.scalar(select(User).where(User.username == "coord")) or f.make_user("coord", role="coordinator")
    inv = services.create_invite(team, coord, days, max_uses)
    db.session.commit()
    return inv


def join_via_page(client, token, name="新骑手", phone=PHONE, password="long-enough-pw", confirm=None, code=None):
    page = client.get(f"/join/{token}")
    if page.status_code != 200:
        return page
    csrf = f.csrf_from(page.get_data(as_text=True))
    if code is None:
        try:
            code = f.sms_code(phone)
        except ValidationFailed:  # a number the form must refuse: no code can be sent to it
            code = "000000"
    return client.post(
        f"/join/{token}",
        data={
            "csrf_token": csrf,
            "action": "join",
            "code": code,
            "display_name": name,
            "phone": phone,
            "password": password,
            "confirm": confirm or password,
        },
    )


def test_phone_numbers_are_normalised_to_e164_and_refused_when_invalid(app):
    assert services.normalise_phone("138-0013-8000") == E164
    assert services.normalise_phone("+86 138 0013 8000") == E164
    for bad in ("12345", "abc", "", "010 6552 9988"):  # the last is a Beijing landline
        try:
            services.normalise_phone(bad)
        except services.ValidationFailed as err:
            assert err.code == "invalid_phone"
        else:
            raise AssertionError(bad)


JOINED = "/login/password?next=/welcome"


def test_rider_joins_through_an_invite_and_lands_in_the_team(app, client):
    team = make_team()
    inv = make_invite(team)
    resp = join_via_page(client, inv.token)
    assert resp.status_code == 302 and resp.headers["Location"] == JOINED
    user = db.session.scalar(select(User).where(User.phone == E164))
    assert (user.team_id, user.role, user.approved, user.display_name) == (team.id, "rider", True, "新骑手")
    assert user.username == "13800138000"
    db.session.expire_all()  # the join ran in its own session; drop this session's copy of the invite
    assert db.session.get(TeamInvite, inv.id).uses == 1
    login_page = client.get(JOINED).get_data(as_text=True)
    assert "If 13800138000 is new to GridSnap, its account is ready" in login_page
    # They log in with their mobile number and the password they chose, and are welcomed to the team.
    resp = f.log_in_through_form(client, "13800138000", "long-enough-pw")
    assert resp.status_code == 302  # (the test helper's login form has no next: the rider's start page)
    welcome = client.get("/welcome").get_data(as_text=True)
    assert "138****8000" in welcome and E164 not in welcome and "犍路先锋" in welcome


@pytest.mark.parametrize("registered_as", ["phone", "user name"])
def test_joining_with_a_registered_number_answers_exactly_as_a_new_number(app, client, registered_as):
    """The same status, redirect and page either way; a registered number is told to log in, and nothing
    is created, used up or changed for it."""
    team, other_team = make_team(), make_team("别的队")
    inv = make_invite(team, max_uses=5)
    if registered_as == "phone":
        existing = f.make_user("laozhang", password=f.PASSWORD, phone=E164, team=other_team.name)
    else:  # an account an administrator made with the number as its user name
        existing = f.make_user("13800138000", password=f.PASSWORD, team=other_team.name)
    before = (other_team.id, existing.display_name, existing.password_hash)
    registered = join_via_page(app.test_client(), inv.token, name="冒名")
    new = join_via_page(app.test_client(), inv.token, name="新人", phone="139 0013 9000")
    assert registered.status_code == new.status_code == 302
    assert registered.headers["Location"] == new.headers["Location"] == JOINED
    assert registered.get_data() == new.get_data()
    assert sorted(registered.headers.keys()) == sorted(new.headers.keys())
    db.session.expire_all()
    assert db.session.scalar(select(db.func.count()).select_from(User).where(User.role == "rider")) == 2
    assert db.session.get(TeamInvite, inv.id).uses == 1  # only the new number's
    existing = db.session.get(User, existing.id)
    assert (existing.team_id, existing.display_name, existing.password_hash) == before
    # not the prober's password
    assert f.log_in_through_form(client, existing.username, "long-enough-pw").status_code == 400


def test_expired_revoked_used_up_and_unknown_invites_are_refused(app, client):
    team = make_team()
    expired = make_invite(team)
    expired.expires_at = utcnow() - timedelta(minutes=1)
    revoked = make_invite(team)
    services.revoke_invite(revoked, db.session.get(User, revoked.created_by_id))
    used = make_invite(team, max_uses=1)
    used.uses = 1
    db.session.commit()
    for inv, word in ((expired, "expired"), (revoked, "withdrawn"), (used, "used up")):
        resp = client.get(f"/join/{inv.token}")
        assert resp.status_code == 410 and word in resp.get_data(as_text=True)
    assert client.get("/join/not-a-token").status_code == 404
    assert db.session.scalar(select(User).where(User.role == "rider")) is None


def test_posting_to_an_invite_that_expired_meanwhile_creates_nobody(app, client):
    inv = make_invite(make_team())
    page = client.get(f"/join/{inv.token}")
    inv.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    resp = client.post(
        f"/join/{inv.token}",
        data={
            "csrf_token": f.csrf_from(page.get_data(as_text=True)),
            "display_name": "x",
            "phone": PHONE,
            "password": "long-enough-pw",
            "confirm": "long-enough-pw",
        },
    )
    assert resp.status_code == 410
    assert db.session.scalar(select(User).where(User.phone == E164)) is None


def test_the_last_use_of_an_invite_goes_to_one_of_two_joins_at_the_same_moment(app, client, monkeypatch):
    """Both joins pass the invite check; the other one's use lands in between: this one is refused and
    nobody is created for it."""
    inv = make_invite(make_team(), max_uses=1)
    check = services.normalise_phone

    def other_join_lands_meanwhile(raw, *args):
        with db.engine.connect() as other:
            other.execute(TeamInvite.__table__.update().where(TeamInvite.id == inv.id).values(uses=1))
            other.commit()
        return check(raw, *args)

    monkeypatch.setattr(services, "normalise_phone", other_join_lands_meanwhile)
    with pytest.raises(services.InviteUnusable):
        services.join_team(inv.token, display_name="慢一步", phone=PHONE, password="long-enough-pw")
    db.session.rollback()
    assert db.session.scalar(select(User).where(User.phone == E164)) is None
    assert db.session.get(TeamInvite, inv.id).uses == 1


def test_join_form_errors_are_shown_not_500(app, client):
    inv = make_invite(make_team())
    resp = join_via_page(client, inv.token, phone="12345")
    assert resp.status_code == 400 and "valid mobile number" in resp.get_data(as_text=True)
    resp = join_via_page(client, inv.token, password="long-enough-pw", confirm="different-pw")
    assert resp.status_code == 400
    assert join_via_page(client, inv.token).status_code == 302
    other = app.test_client()  # a second phone, not logged in
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    resp = join_via_page(other, inv.token, name="again")
    assert resp.status_code == 302 and resp.headers["Location"] == JOINED  # the same answer as a new number
    page = other.get(JOINED).get_data(as_text=True)
    assert "If it already had an account, nothing was changed: log in to that account as before." in page
    assert db.session.scalar(select(db.func.count()).select_from(User).where(User.phone == E164)) == 1


def test_team_requiring_approval_blocks_reports_until_a_coordinator_approves(app, client):
    team = make_team(requires_approval=True)
    inv = make_invite(team)
    assert join_via_page(client, inv.token).status_code == 302
    rider = db.session.scalar(select(User).where(User.phone == E164))
    assert rider.approved is False
    f.log_in_through_form(client, "13800138000", "long-enough-pw")
    assert "awaiting-approval" in client.get("/welcome").get_data(as_text=True)
    tok = f.api_token(rider)
    resp = client.post(
        "/api/v1/reports",
        headers={"Authorization": f"Bearer {tok}"},
        data={
            "category": "garbage",
            "lat": "29.21",
            "lon": "103.95",
            "photos": [(__import__("io").BytesIO(f.jpeg()), "a.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "not_approved"
    # The coordinator sees them waiting and approves.
    coord_client = app.test_client()
    f.log_in(coord_client, "coord")
    page = coord_client.get(f"/teams/{team.id}").get_data(as_text=True)
    assert "新骑手" in page and "138****8000" in page
    resp = coord_client.post(f"/teams/{team.id}/members/{rider.id}/approve", data={"csrf_token": f.csrf_from(page)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, rider.id).approved is True
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "user.approve")) == "user.approve"
    resp = client.post(
        "/api/v1/reports",
        headers={"Authorization": f"Bearer {tok}"},
        data={
            "category": "garbage",
            "lat": "29.21",
            "lon": "103.95",
            "photos": [(__import__("io").BytesIO(f.jpeg()), "a.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201


def test_only_coordinators_manage_invites(app, client):
    team = make_team()
    f.make_user("rider1", team=team.name)
    f.log_in(client, "rider1")
    page = client.get(f"/teams/{team.id}")
    assert page.status_code == 200 and "Invite links" not in page.get_data(as_text=True)
    token = f.csrf_from(page.get_data(as_text=True))
    assert client.post(f"/teams/{team.id}/invites", data={"csrf_token": token, "days": 7}).status_code == 403
    inv = make_invite(team)
    assert client.get(f"/teams/invites/{inv.id}/qr.svg").status_code == 403
    assert client.post(f"/teams/invites/{inv.id}/revoke", data={"csrf_token": token}).status_code == 403


def test_coordinator_creates_an_invite_with_a_server_made_qr_code_and_revokes_it(app, client):
    team = make_team()
    f.make_user("coord", role="coordinator")
    f.log_in(client, "coord")
    page = client.get(f"/teams/{team.id}").get_data(as_text=True)
    resp = client.post(f"/teams/{team.id}/invites", data={"csrf_token": f.csrf_from(page), "days": 3})
    assert resp.status_code == 302
    inv = db.session.scalar(select(TeamInvite))
    assert timedelta(days=2, hours=23) < inv.expires_at - utcnow() <= timedelta(days=3)
    sheet = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"/join/{inv.token}" in sheet
    qr = client.get(f"/teams/invites/{inv.id}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    assert (
        client.post(f"/teams/{team.id}/invites", data={"csrf_token": f.csrf_from(page), "days": 0}).status_code == 302
    )
    assert db.session.scalar(select(db.func.count()).select_from(TeamInvite)) == 1
    client.post(f"/teams/invites/{inv.id}/revoke", data={"csrf_token": f.csrf_from(page)})
    assert app.test_client().get(f"/join/{inv.token}").status_code == 410
    actions = list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert actions == ["invite.create", "invite.revoke"]


def test_forms_without_csrf_are_refused(app, client):
    inv = make_invite(make_team())
    resp = client.post(
        f"/join/{inv.token}",
        data={"display_name": "x", "phone": PHONE, "password": "long-enough-pw", "confirm": "long-enough-pw"},
    )
    assert resp.status_code == 400
    assert db.session.scalar(select(User).where(User.phone == E164)) is None


def test_deactivated_user_cannot_log_in_or_use_tokens_but_keeps_reports(app, client):
    rider = f.make_user("rider1", password=f.PASSWORD)
    report = f.file_report(rider)
    tok = f.api_token(rider)
    rider.active = False
    db.session.commit()
    assert f.log_in_through_form(client, "rider1").status_code == 400
    resp = client.get("/api/v1/reports?mine=1", headers={"Authorization": f"Bearer {tok}"})
    assert resp.status_code == 401
    assert db.session.get(type(report), report.id).user_id == rider.id


def test_deactivated_users_session_stops_working(app, client):
    f.make_user("rider1")
    f.log_in(client, "rider1")
    assert client.get("/me/points").status_code == 200
    db.session.scalar(select(User).where(User.username == "rider1")).active = False
    db.session.commit()
    assert client.get("/me/points").status_code == 302


def test_team_page_shows_leaders_members_reports_and_standing(app, client):
    team = make_team()
    lead = f.make_user("lead", team=team.name, display_name="队长老王", phone=E164)
    member = f.make_user("m1", team=team.name, display_name="小李")
    services.set_leader(team, lead, None, True)
    db.session.commit()
    f.history(f.file_report(member), [("accepted", utcnow())])
    f.log_in(client, "m1")
    page = client.get(f"/teams/{team.id}").get_data(as_text=True)
    assert "队长老王" in page and "小李" in page and "路在脚下" in page
    assert "GS-" in page and "#1 of 1" in page
    assert "138****8000" not in page  # riders see display names only


def test_team_page_shows_members_only_to_its_members_and_staff(app, client):
    """Others see the name, slogan and league figures; never members, pending or deactivated riders,
    leaders or the references of recent reports."""
    team = make_team(requires_approval=True)
    lead = f.make_user("lead", team=team.name, display_name="队长老王")
    member = f.make_user("m1", team=team.name, display_name="小李")
    f.make_user("waiting", team=team.name, display_name="待批准的人", approved=False)
    f.make_user("gone", team=team.name, display_name="已停用的人", active=False)
    services.set_leader(team, lead, None, True)
    db.session.commit()
    report = f.history(f.file_report(member), [("accepted", utcnow())])
    names = ("队长老王", "小李", "待批准的人", "已停用的人", report.reference)
    f.make_user("outsider", team="别的队")
    f.make_user("noteam")
    f.make_user("handler", role="handler")
    for viewer in ("outsider", "noteam", "handler", "waiting"):  # "waiting": not approved by the team yet
        reader = app.test_client()
        reader.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        user = db.session.scalar(select(User).where(User.username == viewer))
        f.log_in(reader, user)
        page = reader.get(f"/teams/{team.id}").get_data(as_text=True)
        assert "犍路先锋" in page and "路在脚下" in page and "#1 of 2" in page, viewer
        assert 'id="members-private"' in page, viewer
        assert not [n for n in names if n in page and n != user.display_name], viewer  # (their own name: the menu)
    for viewer in ("m1", "coord"):
        if viewer == "coord":
            f.make_user("coord", role="coordinator")
        reader = app.test_client()
        f.log_in(reader, db.session.scalar(select(User).where(User.username == viewer)))
        page = reader.get(f"/teams/{team.id}").get_data(as_text=True)
        assert all(n in page for n in names), viewer


def test_api_lists_teams_with_member_counts(app, client):
    _a, _b = make_team("A队"), make_team("B队")
    f.make_user("r1", team="A队")
    f.make_user("r2", team="A队")
    gone = f.make_user("r3", team="A队")
    gone.active = False
    db.session.commit()
    tok = f.api_token(f.make_user("r4", team="B队"))
    body = client.get("/api/v1/teams", headers={"Authorization": f"Bearer {tok}"}).get_json()
    assert [(t["name"], t["members"]) for t in body["teams"]] == [("A队", 2), ("B队", 1)]
    assert client.get("/api/v1/teams").status_code == 401


def test_leaderboard_api_shape_and_validation(app, client):
    team = make_team()
    rider = f.make_user("r1", team=team.name, display_name="张师傅")
    f.history(f.file_report(rider), [("accepted", utcnow())])
    tok = f.api_token(rider)
    h = {"Authorization": f"Bearer {tok}"}
    body = client.get("/api/v1/leaderboard?period=week&by=volunteer", headers=h).get_json()
    assert body["period"] == "week" and re.match(r"\d{4}-\d\d-\d\dT00:00:00\+08:00", body["start"])
    assert body["rows"] == [{"rank": 1, "name": "张师傅", "points": 5, "reports": 1, "fixed": 0}]
    body = client.get("/api/v1/leaderboard?period=month&by=team", headers=h).get_json()
    assert body["rows"][0]["name"] == team.name and body["rows"][0]["points"] == 5.0
    assert client.get("/api/v1/leaderboard?period=year", headers=h).status_code == 400
    assert client.get("/api/v1/leaderboard?by=city", headers=h).status_code == 400


def test_rider_profile_shows_points_badges_and_reports_by_status(app, client):
    rider = f.make_user("r1")
    f.history(f.file_report(rider, category="manhole_missing"), [("accepted", utcnow())])
    f.file_report(rider)
    f.log_in(client, "r1")
    page = client.get("/me/points").get_data(as_text=True)
    assert 'id="points-total">5<' in page
    assert "Hazard spotter" in page and "First report" in page
    assert client.get(f"/riders/{rider.id}").status_code == 403


def test_league_table_page(app, client):
    make_team()
    f.make_user("r1")
    f.log_in(client, "r1")
    for period in ("week", "month"):
        assert client.get(f"/leaderboard?period={period}").status_code == 200
