"""Team leaders and invite links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models import Team, User, UTCDateTime, utcnow


class TeamLeader(db.Model):
    """A member who leads a team (shown on the team page)."""

    __tablename__ = "team_leader"
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)

    user: Mapped[User] = relationship()


class TeamInvite(db.Model):
    """A link that lets a new rider join a team until it expires or is revoked."""

    __tablename__ = "team_invite"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)

    team: Mapped[Team] = relationship()
    created_by: Mapped[User | None] = relationship()

    def usable(self, now: datetime) -> bool:
        """Not revoked, not expired, not used up."""
        return (
            self.revoked_at is None and self.expires_at > now and (self.max_uses is None or self.uses < self.max_uses)
        )
