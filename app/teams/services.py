"""Team operations: invite links, joining, approval, leaders, and what a team page shows."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

import phonenumbers
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update

from app.audit import record, snapshot
from app.auth.services import create_user
from app.errors import DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.models import Report, Team, User, utcnow
from app.teams.models import TeamInvite, TeamLeader
from app.models import Role

DEFAULT_REGION = "CN"
MAX_INVITE_DAYS = 90


class InviteUnusable(DomainError):
    """The invite link was revoked, has expired or is used up."""

    status, code = 410, "invite_unusable"


USED_UP = _l("This invite link has been used up. Ask your team coordinator for a new one.")


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """A mobile number in E.164 (+8613812345678), or ValidationFailed."""
    try:
        number = phonenumbers.parse((raw or "").strip(), region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed(_l("Enter a valid mobile number."), code="invalid_phone")
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(_l("Enter a valid mobile number."), code="invalid_phone")
    if phonenumbers.number_type(number) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise ValidationFailed(_l("Enter a mobile number, not a landline."), code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def login_name_for(e164: str, region: str = DEFAULT_REGION) -> str:
    """The user name a rider logs in with: the number as dialled at home (13812345678), else E.164."""
    number = phonenumbers.parse(e164, None)
    if phonenumbers.region_code_for_number(number) == region:
        return phonenumbers.national_significant_number(number)
    return e164


def get_team(team_id: int) -> Team:
    """A team by id, or NotFound."""
    team = db.session.get(Team, team_id)
    if team is None:
        raise NotFound(_l("No such team."))
    return team


def all_teams() -> list[Team]:
    """Every team by name."""
    return list(db.session.scalars(select(Team).order_by(Team.name)))


def member_counts() -> dict[int, tuple[int, int]]:
    """team id -> (active members, all members)."""
    rows = db.session.execute(select(User.team_id, User.active, func.count()).where(User.team_id.is_not(None))
                              .group_by(User.team_id, User.active)).all()
    out: dict[int, list[int]] = {}
    for team_id, active, n in rows:
        counts = out.setdefault(team_id, [0, 0])
        counts[1] += n
        if active:
            counts[0] += n
    return {k: (v[0], v[1]) for k, v in out.items()}


def create_invite(team: Team, actor: User, days: int = 7, max_uses: Optional[int] = None) -> TeamInvite:
    """A new invite link for a team, valid for `days` days (and at most `max_uses` joins)."""
    if not 1 <= int(days) <= MAX_INVITE_DAYS:
        raise ValidationFailed(_l("An invite lasts 1 to %(n)d days.", n=MAX_INVITE_DAYS))
    if max_uses is not None and max_uses < 1:
        raise ValidationFailed(_l("The number of uses must be at least 1."))
    invite = TeamInvite(team=team, token=secrets.token_urlsafe(24), created_by=actor,
                        expires_at=utcnow() + timedelta(days=int(days)), max_uses=max_uses, uses=0)
    db.session.add(invite)
    db.session.flush()
    record(actor, "invite.create", "team_invite", invite.id, team.name, {},
           {"team": team.name, "expires_at": invite.expires_at, "max_uses": max_uses})
    return invite


def get_invite(invite_id: int) -> TeamInvite:
    """An invite by id, or NotFound."""
    invite = db.session.get(TeamInvite, invite_id)
    if invite is None:
        raise NotFound(_l("No such invite."))
    return invite


def revoke_invite(invite: TeamInvite, actor: User) -> TeamInvite:
    """Stop an invite link from working."""
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        record(actor, "invite.revoke", "team_invite", invite.id, invite.team.name,
               {"revoked_at": None}, {"revoked_at": invite.revoked_at})
    db.session.flush()
    return invite


def team_invites(team: Team) -> list[TeamInvite]:
    """A team's invites, newest first."""
    return list(db.session.scalars(select(TeamInvite).where(TeamInvite.team_id == team.id)
                                   .order_by(TeamInvite.created_at.desc(), TeamInvite.id.desc())))


def usable_invite(token: str) -> TeamInvite:
    """The invite for a link, refusing unknown (404), revoked, expired or used-up (410) ones."""
    invite = db.session.scalar(select(TeamInvite).where(TeamInvite.token == (token or "")[:64]))
    if invite is None:
        raise NotFound(_l("This invite link is not valid. Ask your team coordinator for a new one."))
    if invite.revoked_at is not None:
        raise InviteUnusable(_l("This invite link was withdrawn. Ask your team coordinator for a new one."))
    if invite.expires_at <= utcnow():
        raise InviteUnusable(_l("This invite link has expired. Ask your team coordinator for a new one."))
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        raise InviteUnusable(USED_UP)
    return invite


def join_team(token: str, *, display_name: str, phone: str, password: str) -> Optional[User]:
    """Create a rider from an invite link and put them in its team (unapproved if the team requires it).

    A number that already has an account gets nothing: None, no second account, no use of the invite,
    no change to that account. The caller answers exactly as for a new number, so the form cannot be
    used to learn who is registered.
    """
    invite = usable_invite(token)
    display_name = (display_name or "").strip()
    if not display_name:  # create_user checks its length (and would put the login name in its place)
        raise ValidationFailed(_l("A display name of 1 to 80 characters is required."), code="invalid_name")
    e164 = normalise_phone(phone)
    if db.session.scalar(select(User.id).where(or_(User.phone == e164, User.username == login_name_for(e164)))):
        User().set_password(password)  # the hashing a new account costs, so the time tells nothing either
        return None
    # One use taken in the database, not `uses += 1` in Python: two joins at the same moment both passed
    # the check above and the last one of a single-use link went over its limit.
    taken = db.session.execute(
        update(TeamInvite).where(TeamInvite.id == invite.id,
                                 or_(TeamInvite.max_uses.is_(None), TeamInvite.uses < TeamInvite.max_uses))
        .values(uses=TeamInvite.uses + 1).execution_options(synchronize_session=False)).rowcount
    db.session.expire(invite, ["uses"])
    if not taken:
        raise InviteUnusable(USED_UP)
    user = create_user(login_name_for(e164), password, Role.RIDER, display_name=display_name, phone=e164)
    user.team_id = invite.team_id
    user.approved = not invite.team.requires_approval
    db.session.flush()
    return user


def pending_members(team: Team) -> list[User]:
    """Members waiting for a coordinator's approval."""
    return list(db.session.scalars(select(User).where(User.team_id == team.id, User.approved.is_(False),
                                                      User.active.is_(True)).order_by(User.created_at)))


def approve_member(team: Team, user: User, actor: User) -> User:
    """Let a team member file reports."""
    if user.team_id != team.id:
        raise NotFound(_l("That person is not in this team."))
    if not user.approved:
        user.approved = True
        record(actor, "user.approve", "user", user.id, user.display_name, {"approved": False}, {"approved": True})
    db.session.flush()
    return user


def leader_ids(team: Team) -> set[int]:
    """Ids of the team's leaders."""
    return set(db.session.scalars(select(TeamLeader.user_id).where(TeamLeader.team_id == team.id)))


def set_leader(team: Team, user: User, actor: User, leader: bool) -> None:
    """Make a member a leader of their team, or stop them being one."""
    if user.team_id != team.id:
        raise NotFound(_l("That person is not in this team."))
    row = db.session.get(TeamLeader, (team.id, user.id))
    if leader and row is None:
        db.session.add(TeamLeader(team_id=team.id, user_id=user.id))
    elif not leader and row is not None:
        db.session.delete(row)
    else:
        return
    record(actor, "team.leader", "team", team.id, team.name, {"leader": user.display_name if not leader else None},
           {"leader": user.display_name if leader else None})
    db.session.flush()


TEAM_FIELDS = ("name", "slogan", "requires_approval")


def save_team(team: Optional[Team], actor: User, *, name: str, slogan: str, requires_approval: bool) -> Team:
    """Create or edit a team."""
    name, slogan = (name or "").strip(), (slogan or "").strip()
    if not name or len(name) > 80:
        raise ValidationFailed(_l("A team name of 1 to 80 characters is required."))
    if len(slogan) > 200:
        raise ValidationFailed(_l("The slogan is too long (at most 200 characters)."))
    clash = db.session.scalar(select(Team.id).where(Team.name == name))
    if clash is not None and (team is None or clash != team.id):
        raise ValidationFailed(_l("A team with that name exists."), status=409, code="exists")
    before = snapshot(team, TEAM_FIELDS) if team is not None else {}
    if team is None:
        team = Team(name=name)
        db.session.add(team)
    team.name, team.slogan, team.requires_approval = name, slogan, bool(requires_approval)
    db.session.flush()
    record(actor, "team.update" if before else "team.create", "team", team.id, team.name, before,
           snapshot(team, TEAM_FIELDS))
    return team


@dataclass
class TeamPage:
    """What a team page shows (leaders, members and reports only to those who see members)."""

    team: Team
    leaders: list[User]
    members: list[User]
    reports: list[Report]
    member_count: int
    report_count: int
    week_rank: Optional[int]
    month_rank: Optional[int]
    week_points: float
    month_points: float
    teams_ranked: int


def sees_members(user: User, team: Team) -> bool:
    """Staff, and the team's own approved members, see who is in it and what they reported; others see its
    name, slogan and league figures (a team's invite link goes round group chats)."""
    return user.is_staff or (user.team_id == team.id and user.approved)


def team_page(team: Team, recent: int = 20, *, with_members: bool = True) -> TeamPage:
    """The team's counts and standing this week and month; with_members, its members, leaders and recent
    reports too."""
    from app.teams.points import leaderboard, period_bounds
    members, reports, lead = [], [], set()
    by_members = select(Report).join(User, User.id == Report.user_id).where(User.team_id == team.id)
    if with_members:
        members = list(db.session.scalars(select(User).where(User.team_id == team.id)
                                          .order_by(User.active.desc(), User.display_name)))
        lead = leader_ids(team)
        reports = list(db.session.scalars(by_members.order_by(Report.created_at.desc(), Report.id.desc())
                                          .limit(recent)))
    report_count = db.session.scalar(select(func.count()).select_from(by_members.subquery())) or 0
    member_count = db.session.scalar(select(func.count()).select_from(User)
                                     .where(User.team_id == team.id, User.active.is_(True))) or 0
    standing = {}
    for period in ("week", "month"):
        rows = leaderboard(*period_bounds(period), by="team")
        mine = next((r for r in rows if r.id == team.id), None)
        standing[period] = (mine.rank if mine else None, mine.points if mine else 0.0, len(rows))
    return TeamPage(team, [m for m in members if m.id in lead], members, reports, member_count, report_count,
                    standing["week"][0], standing["month"][0], standing["week"][1], standing["month"][1],
                    standing["week"][2])

