"""The report workflow: statuses, the one transition table, and their labels.

Nothing else decides which move is legal. Pure: no Flask, no database.
"""

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Status(StrEnum):
    """Where a report stands in its resolution."""

    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class Outcome(StrEnum):
    """The honest outcome carried by a closed report."""

    FIXED = "fixed"
    NOT_RESPONSIBLE = "not_responsible"
    UNABLE_TO_FIX = "unable_to_fix"


class Priority(StrEnum):
    """How soon a report needs attention (hazards are filed urgent), most urgent first."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


PRIORITIES = tuple(p.value for p in Priority)
PRIORITY_ORDER = {p.value: i for i, p in enumerate(Priority)}  # the board's sort
PRIORITY_LABELS = {
    Priority.URGENT.value: _l("Urgent"),
    Priority.HIGH.value: _l("High"),
    Priority.NORMAL.value: _l("Normal"),
    Priority.LOW.value: _l("Low"),
}

S = Status

# from -> {to: what the move needs}
TRANSITIONS: dict[Status, dict[Status, frozenset[str]]] = {
    S.SUBMITTED: {S.ACCEPTED: frozenset(), S.REJECTED: frozenset({"note"}), S.DUPLICATE: frozenset({"duplicate_of"})},
    S.ACCEPTED: {
        S.ASSIGNED: frozenset({"assignee_or_department"}),
        S.REJECTED: frozenset({"note"}),
        S.DUPLICATE: frozenset({"duplicate_of"}),
    },
    S.ASSIGNED: {S.IN_PROGRESS: frozenset(), S.RESOLVED: frozenset({"note"}), S.ACCEPTED: frozenset()},
    S.IN_PROGRESS: {S.RESOLVED: frozenset({"note"})},
    S.RESOLVED: {S.CLOSED: frozenset({"outcome"}), S.IN_PROGRESS: frozenset({"note"})},
    S.CLOSED: {S.ACCEPTED: frozenset({"note"})},
    S.REJECTED: {S.ACCEPTED: frozenset()},
    S.DUPLICATE: {},
}

OPEN_STATUSES = (S.SUBMITTED, S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED)
CLOSED_STATUSES = (S.CLOSED, S.REJECTED, S.DUPLICATE)
# Statuses measured against the deadline to resolve (submitted ones against the deadline to accept;
# resolved and closed ones against none).
RESOLVE_DEADLINE_STATUSES = (S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS)


def deadline_for(status: str, accept_due_at, resolve_due_at):
    """The deadline a report in `status` is measured against, or None."""
    if status == S.SUBMITTED:
        return accept_due_at
    if status in RESOLVE_DEADLINE_STATUSES:
        return resolve_due_at
    return None


# A report back to accepted after it was rejected, closed or resolved is reopened: a fresh deadline to resolve,
# the handler told, the weekly summary's "reopened" count.
REOPEN_SOURCES = (S.CLOSED, S.REJECTED, S.RESOLVED)


def is_reopen(source: str, target: str) -> bool:
    """Whether the move source -> target reopens the report."""
    return target == S.ACCEPTED and source in REOPEN_SOURCES


# Moves no person makes: a rider's "not fixed" soon after the resolve sends the report back (once).
SYSTEM_MOVES = frozenset({(S.RESOLVED, S.ACCEPTED), (S.CLOSED, S.ACCEPTED)})

# Moves a handler may make on reports assigned to them or their department.
HANDLER_MOVES = frozenset({(S.ASSIGNED, S.IN_PROGRESS), (S.ASSIGNED, S.RESOLVED), (S.IN_PROGRESS, S.RESOLVED)})

LABELS = {
    S.SUBMITTED: _l("Submitted"),
    S.ACCEPTED: _l("Accepted"),
    S.ASSIGNED: _l("Dispatched"),
    S.IN_PROGRESS: _l("In progress"),
    S.RESOLVED: _l("Resolved"),
    S.CLOSED: _l("Closed"),
    S.REJECTED: _l("Rejected"),
    S.DUPLICATE: _l("Duplicate"),
}

OUTCOME_LABELS = {
    Outcome.FIXED: _l("Fixed"),
    Outcome.NOT_RESPONSIBLE: _l("Not our responsibility"),
    Outcome.UNABLE_TO_FIX: _l("Unable to fix"),
}

# The name of each move as a coordinator says it (button labels).
MOVE_LABELS = {
    (S.SUBMITTED, S.ACCEPTED): _l("Accept"),
    (S.SUBMITTED, S.REJECTED): _l("Reject"),
    (S.SUBMITTED, S.DUPLICATE): _l("Mark duplicate"),
    (S.ACCEPTED, S.ASSIGNED): _l("Dispatch"),
    (S.ACCEPTED, S.REJECTED): _l("Reject"),
    (S.ACCEPTED, S.DUPLICATE): _l("Mark duplicate"),
    (S.ASSIGNED, S.IN_PROGRESS): _l("Start handling"),
    (S.ASSIGNED, S.RESOLVED): _l("Mark resolved"),
    (S.ASSIGNED, S.ACCEPTED): _l("Recall"),
    (S.IN_PROGRESS, S.RESOLVED): _l("Mark resolved"),
    (S.RESOLVED, S.CLOSED): _l("Verify and close"),
    (S.RESOLVED, S.IN_PROGRESS): _l("Verification failed"),
    (S.CLOSED, S.ACCEPTED): _l("Reopen"),
    (S.REJECTED, S.ACCEPTED): _l("Reopen"),
}


# The step the workflow expects next from each status: the one primary button on the report page.
NEXT_STEP = {
    S.SUBMITTED: S.ACCEPTED,
    S.ACCEPTED: S.ASSIGNED,
    S.ASSIGNED: S.IN_PROGRESS,
    S.IN_PROGRESS: S.RESOLVED,
    S.RESOLVED: S.CLOSED,
}
# Moves that end a report without fixing it: styled as destructive and confirmed before they are sent.
DESTRUCTIVE_TARGETS = frozenset({S.REJECTED, S.DUPLICATE})


def primary_move(current: str, moves) -> Status | None:
    """Of the moves open to someone, the one the workflow expects next (None when it is not among them)."""
    step = NEXT_STEP.get(Status(current))
    return step if step in moves else None


def allowed_moves(current: str) -> list[Status]:
    """The statuses a report in `current` may move to."""
    return list(TRANSITIONS[Status(current)])


def is_legal(current: str, target: str) -> bool:
    """Whether the transition table allows current -> target."""
    try:
        return Status(target) in TRANSITIONS[Status(current)]
    except ValueError:
        return False


def requirements(current: str, target: str) -> frozenset[str]:
    """What a legal move needs (note, outcome, duplicate_of, assignee_or_department)."""
    return TRANSITIONS[Status(current)][Status(target)]


def is_open(status: str) -> bool:
    """Open in the Open311 sense: still being worked on."""
    return Status(status) in OPEN_STATUSES
