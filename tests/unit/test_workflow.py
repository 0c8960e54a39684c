"""The transition table, checked against the moves the issue lists (written out, not derived, in
tests/expectations.py)."""

import itertools

import pytest

from app.triage import workflow
from app.triage.workflow import HANDLER_MOVES, LABELS, MOVE_LABELS, OUTCOME_LABELS, Outcome, Status
from tests.expectations import EXPECTED_MOVES as EXPECTED
from tests.expectations import STATUSES

ALL_PAIRS = list(itertools.product(STATUSES, STATUSES))
REFUSED = [pair for pair in ALL_PAIRS if pair not in EXPECTED]


def test_statuses_are_the_eight_of_the_issue():
    assert [s.value for s in Status] == STATUSES


@pytest.mark.parametrize("current,target", sorted(EXPECTED))
def test_allowed_move_is_legal_with_its_requirements(current, target):
    assert workflow.is_legal(current, target)
    assert target in workflow.allowed_moves(current)
    assert set(workflow.requirements(current, target)) == EXPECTED[(current, target)]


def test_every_other_move_is_refused():
    legal = [pair for pair in REFUSED if workflow.is_legal(*pair)]
    assert legal == []
    assert len(REFUSED) == 64 - 14
    for current in STATUSES:
        assert sorted(workflow.allowed_moves(current)) == sorted(t for c, t in EXPECTED if c == current)


def test_no_status_moves_to_itself():
    assert not any(workflow.is_legal(s, s) for s in STATUSES)


def test_duplicate_is_final():
    assert workflow.allowed_moves("duplicate") == []


def test_unknown_target_is_not_legal():
    assert not workflow.is_legal("submitted", "done")
    assert not workflow.is_legal("submitted", "")


def test_unknown_current_status_raises():
    with pytest.raises(ValueError):
        workflow.allowed_moves("lost")


def test_reject_needs_a_reason_and_close_needs_an_outcome():
    assert "note" in workflow.requirements("submitted", "rejected")
    assert "note" in workflow.requirements("accepted", "rejected")
    assert workflow.requirements("resolved", "closed") == {"outcome"}
    assert "note" in workflow.requirements("resolved", "in_progress")
    assert "note" in workflow.requirements("closed", "accepted")
    assert "note" in workflow.requirements("in_progress", "resolved")


def test_outcomes_are_the_three_honest_ones():
    assert {o.value for o in Outcome} == {"fixed", "not_responsible", "unable_to_fix"}
    assert set(OUTCOME_LABELS) == set(Outcome)


def test_handlers_only_start_and_resolve():
    assert HANDLER_MOVES == {
        (Status.ASSIGNED, Status.IN_PROGRESS),
        (Status.ASSIGNED, Status.RESOLVED),
        (Status.IN_PROGRESS, Status.RESOLVED),
    }
    assert all(workflow.is_legal(a, b) for a, b in HANDLER_MOVES)


def test_open_and_closed_statuses_split_all_statuses():
    assert [s.value for s in workflow.OPEN_STATUSES] == ["submitted", "accepted", "assigned", "in_progress", "resolved"]
    assert set(workflow.OPEN_STATUSES) | set(workflow.CLOSED_STATUSES) == set(Status)
    assert workflow.is_open("resolved") and not workflow.is_open("closed")


def test_every_status_and_every_legal_move_has_a_label():
    assert set(LABELS) == set(Status)
    assert {(a.value, b.value) for a, b in MOVE_LABELS} == set(EXPECTED)
