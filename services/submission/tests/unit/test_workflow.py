from typing import Any

import pytest
from motcua.submission.workflow import (
    EDITABLE,
    FINAL,
    OFFICER_ACTIONS,
    TRANSITIONS,
    Action,
    Status,
    TransitionNotAllowed,
    allowed,
    next_status,
)

CONTRACT = {
    ("draft", "submit"): "submitted",
    ("submitted", "accept"): "processing",
    ("processing", "approve"): "approved",
    ("approved", "issue_result"): "completed",
    ("submitted", "request_supplement"): "supplement_requested",
    ("processing", "request_supplement"): "supplement_requested",
    ("supplement_requested", "resubmit"): "processing",
    ("submitted", "reject"): "rejected",
    ("processing", "reject"): "rejected",
    ("submitted", "withdraw"): "withdrawn",
    ("supplement_requested", "withdraw"): "withdrawn",
}


def test_the_state_machine_is_exactly_the_contracts() -> None:
    assert {(s.value, a.value): t.value for (s, a), t in TRANSITIONS.items()} == CONTRACT


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_every_other_move_is_refused(status: Any, action: Any) -> None:
    if (status.value, action.value) in CONTRACT:
        assert next_status(status, action).value == CONTRACT[(status.value, action.value)]
    else:
        with pytest.raises(TransitionNotAllowed):
            next_status(status, action)


def test_final_states_lead_nowhere() -> None:
    assert all(s not in FINAL for (s, _) in TRANSITIONS)
    with pytest.raises(TransitionNotAllowed, match="completed is final"):
        next_status(Status.COMPLETED, Action.REJECT)


def test_the_refusal_says_what_is_possible() -> None:
    with pytest.raises(TransitionNotAllowed, match="from submitted you can: accept, reject, request_supplement"):
        next_status(Status.SUBMITTED, Action.APPROVE)


def test_only_drafts_and_supplement_requests_are_editable() -> None:
    assert {Status.DRAFT, Status.SUPPLEMENT_REQUESTED} == EDITABLE


def test_officers_are_offered_the_moves_the_state_machine_allows_from_each_status_the_usual_first() -> None:
    offered = {s.value: [a.value for a in allowed(s, "officer")] for s in Status}
    assert offered == {
        "draft": [],
        "submitted": ["accept", "request_supplement", "reject"],
        "processing": ["approve", "request_supplement", "reject"],
        "supplement_requested": [],
        "approved": ["issue_result"],
        "completed": [],
        "rejected": [],
        "withdrawn": [],
    }
    assert [a.value for a in allowed(Status.SUPPLEMENT_REQUESTED, "citizen")] == ["resubmit", "withdraw"]
    assert {a.value for a in OFFICER_ACTIONS} == {"accept", "request_supplement", "approve", "reject", "issue_result"}
