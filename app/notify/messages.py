"""What a notification says, per kind, in the language it is shown or sent in."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import Category, Role
from app.triage.workflow import LABELS, OUTCOME_LABELS, Outcome, Status


class Kind(StrEnum):
    """What a notification is about (its `kind` in the API)."""

    NEW_HAZARD = "new_hazard"
    DISPATCHED = "dispatched"
    RECALLED = "recalled"
    REOPENED = "reopened"
    NOT_FIXED = "not_fixed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    RESOLVED = "resolved"
    CLOSED = "closed"
    ESCALATION_WARNING = "escalation_warning"
    ESCALATED = "escalated"
    DEAD_DELIVERIES = "dead_deliveries"
    LOOKED_NOT_FIXED = "looked_not_fixed"
    RECEIVED = "received"
    POINTS = "points"
    BADGE = "badge"


# What may reach each role outside the app (the bell has everything): the rows of the settings page.
_RIDER_KINDS = (Kind.ACCEPTED, Kind.REJECTED, Kind.DUPLICATE, Kind.RESOLVED, Kind.CLOSED)
_HANDLER_KINDS = (
    Kind.DISPATCHED,
    Kind.RECALLED,
    Kind.REOPENED,
    Kind.NOT_FIXED,
    Kind.ESCALATION_WARNING,
    Kind.ESCALATED,
)
_STAFF_KINDS = (Kind.NEW_HAZARD, Kind.ESCALATION_WARNING, Kind.ESCALATED, Kind.NOT_FIXED, Kind.LOOKED_NOT_FIXED)
OUTSIDE_KINDS = {
    Role.RIDER.value: _RIDER_KINDS,
    Role.HANDLER.value: _HANDLER_KINDS,
    Role.COORDINATOR.value: _STAFF_KINDS,
    Role.ADMIN.value: (*_STAFF_KINDS, Kind.DEAD_DELIVERIES),
}

# The settings page's words for each kind.
KIND_LABELS = {
    Kind.ACCEPTED: _l("My report was accepted"),
    Kind.REJECTED: _l("My report was not accepted"),
    Kind.DUPLICATE: _l("My report was merged into another"),
    Kind.RESOLVED: _l("My report was handled: is it fixed?"),
    Kind.CLOSED: _l("My report was closed"),
    Kind.DISPATCHED: _l("A report was dispatched to me"),
    Kind.RECALLED: _l("A report was recalled from me"),
    Kind.REOPENED: _l("A report of mine was reopened"),
    Kind.NOT_FIXED: _l("A rider says it is not fixed"),
    Kind.ESCALATION_WARNING: _l("Half the time is used"),
    Kind.ESCALATED: _l("A report is overdue"),
    Kind.NEW_HAZARD: _l("A new hazard report"),
    Kind.LOOKED_NOT_FIXED: _l("A passer-by says it is not fixed"),
    Kind.DEAD_DELIVERIES: _l("Notifications could not be delivered"),
}


TITLES = {
    Kind.NEW_HAZARD: _l("New hazard report %(reference)s"),
    Kind.DISPATCHED: _l("Dispatched to you: %(reference)s"),
    Kind.RECALLED: _l("Recalled from you: %(reference)s"),
    Kind.REOPENED: _l("Reopened: %(reference)s"),
    Kind.NOT_FIXED: _l("The rider says %(reference)s is not fixed"),
    Kind.ACCEPTED: _l("Your report %(reference)s was accepted"),
    Kind.REJECTED: _l("Your report %(reference)s was not accepted"),
    Kind.DUPLICATE: _l("Your report %(reference)s was merged into %(original)s"),
    Kind.RESOLVED: _l("%(reference)s was handled: is it fixed?"),
    Kind.CLOSED: _l("%(reference)s was closed"),
    Kind.ESCALATION_WARNING: _l("Half the time is used: %(reference)s"),
    Kind.ESCALATED: _l("Overdue (level %(level)s): %(reference)s"),
    Kind.DEAD_DELIVERIES: _l("%(count)s notifications could not be delivered"),
    Kind.LOOKED_NOT_FIXED: _l("A passer-by says %(reference)s is not fixed"),
    Kind.RECEIVED: _l("Your report %(reference)s was received"),
    Kind.POINTS: _l("You earned %(points)s points"),
    Kind.BADGE: _l("New badge: %(badge)s"),
}

BODIES = {
    Kind.NEW_HAZARD: _l("%(category)s: please accept it at once."),
    Kind.DISPATCHED: _l("%(category)s. Please handle it before %(due)s."),
    Kind.RECALLED: _l("%(category)s: the coordinators took it back."),
    Kind.REOPENED: _l("%(category)s: the problem is back, please handle it again."),
    Kind.NOT_FIXED: _l("%(category)s: %(note)s"),
    Kind.ACCEPTED: _l("%(category)s: thank you, it is being handled."),
    Kind.REJECTED: _l("Reason: %(reason)s"),
    Kind.DUPLICATE: _l("Someone reported it already; you follow %(original)s now."),
    Kind.RESOLVED: _l("%(category)s: open the report and tell us whether it is really fixed."),
    Kind.CLOSED: _l("%(category)s: %(outcome)s"),
    Kind.ESCALATION_WARNING: _l("%(category)s: due %(due)s."),
    Kind.ESCALATED: _l("%(category)s: was due %(due)s."),
    Kind.DEAD_DELIVERIES: _l("See the delivery page in the admin area."),
    Kind.LOOKED_NOT_FIXED: _l("%(category)s, resolved lately: %(note)s"),
    Kind.RECEIVED: _l("%(category)s: thank you, the coordinators will look at it."),
    Kind.POINTS: _l("%(why)s: %(reference)s"),
    Kind.BADGE: _l("%(badge_rule)s"),
}

WHY = {  # what earned the points (an award's kind)
    Status.ACCEPTED.value: _l("Your report was accepted"),
    "fixed": _l("Your report was closed as fixed"),
    "co_accepted": _l("A report you joined was accepted"),
    "co_fixed": _l("A report you joined was closed as fixed"),
    "verified": _l("You took a look at a fixed report"),
}


def _values(params: dict, categories: dict[str, Category], locale: str) -> dict:
    values = {k: ("" if v is None else v) for k, v in params.items()}
    cat = categories.get(params.get("category") or "")
    values["category"] = cat.name(locale) if cat else params.get("category", "")
    if params.get("outcome") in Outcome._value2member_map_:
        values["outcome"] = str(OUTCOME_LABELS[Outcome(params["outcome"])])
    if params.get("to") in Status._value2member_map_:
        values["status"] = str(LABELS[Status(params["to"])])
    if isinstance(params.get("place"), dict):
        from app.reports.places import label

        values["place"] = label(params["place"], locale)
    if params.get("why") in WHY:
        values["why"] = str(WHY[params["why"]])
    for key in ("badge", "badge_rule"):  # stored as the badge's English text, a msgid of the catalog
        if params.get(key):
            values[key] = gettext(params[key])
    if params.get("due"):  # stored as ISO-8601 UTC; shown in local time, in the reader's language
        try:
            due = datetime.fromisoformat(params["due"]).astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
            values["due"] = format_datetime(due, "short", tzinfo=due.tzinfo, locale=locale)
        except (TypeError, ValueError):
            pass
    return values


def render(kind: str, params: dict, locale: str, categories: dict[str, Category] | None = None) -> tuple[str, str]:
    """(title, body) of a notification in `locale`; a missing parameter shows as empty, never as an error."""
    if categories is None:
        categories = {c.code: c for c in db.session.scalars(db.select(Category))}
    with force_locale(locale):  # the labels too, in the reader's language (the worker has no request)
        values = _Blank(_values(params, categories, locale))
        title = str(TITLES.get(kind, kind)) % values
        body = str(BODIES.get(kind, "")) % values
        if values.get("place"):  # where, by name (grid · nearest landmark)
            body = str(_l("%(body)s (%(place)s)", body=body, place=values["place"]))
    return title, body


class _Blank(dict):
    """Formatting values where a parameter the text names but the notification lacks is empty."""

    def __missing__(self, key):
        return ""


def render_all(items, locale: str) -> list[tuple]:
    """(notification, title, body) for each, in `locale` (the categories read once for all of them)."""
    categories = {c.code: c for c in db.session.scalars(db.select(Category))}
    return [(n, *render(n.kind, n.params, locale, categories)) for n in items]
