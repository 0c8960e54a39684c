"""What a notification says, per kind, in the language it is shown or sent in."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import Category
from app.triage.workflow import LABELS, OUTCOME_LABELS, Outcome, Status

TITLES = {
    "new_hazard": _l("New hazard report %(reference)s"),
    "dispatched": _l("Dispatched to you: %(reference)s"),
    "recalled": _l("Recalled from you: %(reference)s"),
    "reopened": _l("Reopened: %(reference)s"),
    "not_fixed": _l("The rider says %(reference)s is not fixed"),
    "accepted": _l("Your report %(reference)s was accepted"),
    "rejected": _l("Your report %(reference)s was not accepted"),
    "duplicate": _l("Your report %(reference)s was merged into %(original)s"),
    "resolved": _l("%(reference)s was handled: is it fixed?"),
    "closed": _l("%(reference)s was closed"),
    "escalation_warning": _l("Half the time is used: %(reference)s"),
    "escalated": _l("Overdue (level %(level)s): %(reference)s"),
    "dead_deliveries": _l("%(count)s notifications could not be delivered"),
}

BODIES = {
    "new_hazard": _l("%(category)s: please accept it at once."),
    "dispatched": _l("%(category)s. Please handle it before %(due)s."),
    "recalled": _l("%(category)s: the coordinators took it back."),
    "reopened": _l("%(category)s: the problem is back, please handle it again."),
    "not_fixed": _l("%(category)s: %(note)s"),
    "accepted": _l("%(category)s: thank you, it is being handled."),
    "rejected": _l("Reason: %(reason)s"),
    "duplicate": _l("Someone reported it already; you follow %(original)s now."),
    "resolved": _l("%(category)s: open the report and tell us whether it is really fixed."),
    "closed": _l("%(category)s: %(outcome)s"),
    "escalation_warning": _l("%(category)s: due %(due)s."),
    "escalated": _l("%(category)s: was due %(due)s."),
    "dead_deliveries": _l("See the delivery page in the admin area."),
}


def _values(params: dict, categories: dict[str, Category], locale: str) -> dict:
    values = {k: ("" if v is None else v) for k, v in params.items()}
    cat = categories.get(params.get("category") or "")
    values["category"] = cat.name(locale) if cat else params.get("category", "")
    if params.get("outcome") in Outcome._value2member_map_:
        values["outcome"] = str(OUTCOME_LABELS[Outcome(params["outcome"])])
    if params.get("to") in Status._value2member_map_:
        values["status"] = str(LABELS[Status(params["to"])])
    return values


def render(kind: str, params: dict, locale: str, categories: dict[str, Category] | None = None) -> tuple[str, str]:
    """(title, body) of a notification in `locale`; a missing parameter shows as empty, never as an error."""
    if categories is None:
        categories = {c.code: c for c in db.session.scalars(db.select(Category))}
    values = _Blank(_values(params, categories, locale))
    with force_locale(locale):
        title = str(TITLES.get(kind, kind)) % values
        body = str(BODIES.get(kind, "")) % values
    return title, body


class _Blank(dict):
    """Formatting values where a parameter the text names but the notification lacks is empty."""

    def __missing__(self, key):
        return ""
