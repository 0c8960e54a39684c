"""Account operations: create users, check and change passwords, logins, issue and check API tokens."""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from werkzeug.security import check_password_hash

from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import ROLES, ApiToken, LoginSession, Role, Team, User, utcnow

# A fixed hash to compare against when the user does not exist, so timing does not tell (a plain hash check:
# no model instance at import, when the feature models may not all be registered yet).
# The hash of a user without a password: no password matches it (werkzeug reads it as no known method).
NO_PASSWORD = "!"
_DUMMY_HASH = "scrypt:32768:8:1$dummy$" + "0" * 128


def require_approved(user: User) -> None:
    """Riders whose team requires approval file, see others' reports nearby and join them only once
    approved (staff are always approved)."""
    if not user.approved:
        raise PermissionDenied(_l("Your team has not approved your account yet."), code="not_approved")


def create_user(
    username: str,
    password: str | None,
    role: str = Role.RIDER,
    *,
    display_name: str | None = None,
    team: str | None = None,
    phone: str | None = None,
    department_id: int | None = None,
) -> User:
    """Create a user with a hashed password (None: no password, they sign in by text message); the team is
    created if it does not exist."""
    username = (username or "").strip()
    if not username or len(username) > 40:
        raise ValidationFailed(_l("A user name of 1 to 40 characters is required."))
    if role not in ROLES:
        raise ValidationFailed(_l("Unknown role."))
    if password is not None:
        check_new_password(password)
    display_name = (display_name or "").strip() or username  # the columns' limits: PostgreSQL refuses more
    if len(display_name) > 80:
        raise ValidationFailed(_l("A display name of 1 to 80 characters is required."), code="invalid_name")
    team = (team or "").strip()
    if len(team) > 80:
        raise ValidationFailed(_l("A team name of 1 to 80 characters is required."))
    if db.session.scalar(select(User).where(User.username == username)):
        raise ValidationFailed(_l("That user name is taken."), status=409, code="exists")
    if phone and db.session.scalar(select(User.id).where(User.phone == phone)):
        raise ValidationFailed(_l("That mobile number has an account already."), status=409, code="exists")
    user = User(username=username, display_name=display_name, role=role, phone=phone, department_id=department_id)
    if password is None:
        user.password_hash = NO_PASSWORD
    else:
        user.set_password(password)
    if team:
        user.team = db.session.scalar(select(Team).where(Team.name == team)) or Team(name=team)
    db.session.add(user)
    db.session.flush()
    return user


def check_new_password(password: str) -> None:
    """The rules for a password someone chooses: 8 to 200 characters."""
    if len(password or "") < 8 or len(password) > 200:
        raise ValidationFailed(_l("The password needs at least 8 characters."))


def start_session(user: User) -> LoginSession:
    """Begin a login of this user on one device; its id is what the session and remember-me cookies carry.
    The user's logins unused for longer than a remember-me cookie lives are deleted on the way."""
    stale = utcnow() - current_app.config["REMEMBER_COOKIE_DURATION"]
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.last_seen_at < stale))
    login = LoginSession(user=user)
    db.session.add(login)
    db.session.flush()
    user.login_session = login
    return login


def session_for(login_id: str) -> LoginSession | None:
    """The login these cookies name, if it has not ended and its user may still log in."""
    login = db.session.get(LoginSession, login_id) if login_id else None
    if login is None or not login.user.active:
        return None
    now = utcnow()
    if (now - login.last_seen_at).total_seconds() > 86400:
        login.last_seen_at = now  # kept with whatever the request commits: at most one write a day
    login.user.login_session = login
    return login


def end_session(login: LoginSession) -> None:
    """End one login."""
    db.session.delete(login)


def end_sessions(user: User, *, keep: LoginSession | None = None) -> int:
    """End the user's logins (all but `keep`): their cookies, wherever copied, no longer log anyone in."""
    q = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep is not None:
        q = q.where(LoginSession.id != keep.id)
    return db.session.execute(q).rowcount


def change_password(user: User, current: str, new: str) -> int:
    """The user's own new password; their other logins end (this one carries on). Returns how many ended."""
    if not user.check_password(current or ""):
        raise ValidationFailed(_l("Your current password is not right."), code="wrong_password")
    check_new_password(new)
    user.set_password(new)
    return end_sessions(user, keep=user.login_session)


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    return user


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    """Issue a new personal API token; the plain token is returned once and never stored."""
    plain = "gs_" + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=(name or "")[:80], token_hash=_hash(plain), prefix=plain[:10])
    db.session.add(token)
    db.session.flush()
    return token, plain


def user_for_token(plain: str) -> User | None:
    """The active owner of a valid, unrevoked token."""
    if not plain:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(plain)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 300:
        token.last_used_at = now  # written at most every 5 minutes: no write per request
    return token.user


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_l("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def revoke_tokens(user: User) -> int:
    """Revoke every token of the user still in use; returns how many."""
    tokens = [t for t in user_tokens(user) if t.revoked_at is None]
    for token in tokens:
        token.revoked_at = utcnow()
    return len(tokens)


def user_tokens(user: User) -> list[ApiToken]:
    """The user's tokens, newest first."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def get_user(username: str) -> User:
    """A user by name, or NotFound."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(_l("No such user."))
    return user
