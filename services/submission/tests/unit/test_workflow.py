from typing import Any

import pytest
from motcua.common.errors import Forbidden
from motcua.submission.workflow import (
    EDITABLE,
    FINAL,
    OFFICER_ACTIONS,
    TRANSITIONS,
    Action,
    Role,
    Status,
    TransitionNotAllowed,
    WrongRole,
    allowed,
    next_status,
    require_role,
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
    ("processing", "propose"): "processing",  # a specialist's advice: recorded, the status stays
    # issue 18: past the supply-by date of a supplement request, intake may refuse (the model checks the date)
    ("supplement_requested", "reject"): "rejected",
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
        "processing": ["approve", "request_supplement", "reject", "propose"],
        "supplement_requested": [],
        "approved": ["issue_result"],
        "completed": [],
        "rejected": [],
        "withdrawn": [],
    }
    assert [a.value for a in allowed(Status.SUPPLEMENT_REQUESTED, "citizen")] == ["resubmit", "withdraw"]
    assert {a.value for a in OFFICER_ACTIONS} == {
        "accept",
        "request_supplement",
        "propose",
        "approve",
        "reject",
        "issue_result",
    }


def test_each_role_is_offered_only_its_own_moves() -> None:
    def offered(status: Status, *roles: Role) -> list[str]:
        return [a.value for a in allowed(status, "officer", frozenset(roles))]

    assert offered(Status.SUBMITTED, Role.INTAKE) == ["accept", "request_supplement", "reject"]  # refusal at intake
    assert offered(Status.PROCESSING, Role.INTAKE) == ["request_supplement"]
    assert offered(Status.APPROVED, Role.INTAKE) == ["issue_result"]
    assert offered(Status.SUBMITTED, Role.SPECIALIST) == ["request_supplement"]
    assert offered(Status.PROCESSING, Role.SPECIALIST) == ["request_supplement", "propose"]
    assert offered(Status.SUBMITTED, Role.APPROVER) == ["reject"]
    assert offered(Status.PROCESSING, Role.APPROVER) == ["approve", "reject"]
    assert offered(Status.APPROVED, Role.APPROVER) == []
    assert offered(Status.PROCESSING) == []  # an officer without roles may do nothing


@pytest.mark.parametrize(
    ("status", "action", "roles"),
    [
        (Status.SUBMITTED, Action.ACCEPT, {Role.SPECIALIST, Role.APPROVER}),
        (Status.PROCESSING, Action.APPROVE, {Role.INTAKE, Role.SPECIALIST}),
        (Status.PROCESSING, Action.REJECT, {Role.INTAKE}),  # refusal at intake only before acceptance
        (Status.PROCESSING, Action.PROPOSE, {Role.APPROVER, Role.INTAKE}),
        (Status.APPROVED, Action.ISSUE_RESULT, {Role.APPROVER, Role.SPECIALIST}),
        (Status.PROCESSING, Action.REQUEST_SUPPLEMENT, {Role.APPROVER}),
    ],
)
def test_the_wrong_role_is_refused_with_403_naming_the_role_needed(
    status: Status, action: Action, roles: set[Role]
) -> None:
    with pytest.raises(WrongRole) as refused:
        require_role(status, action, frozenset(roles))
    assert isinstance(refused.value, Forbidden)  # 403 problem details at the edge
    assert "role" in refused.value.detail


def test_the_right_role_passes() -> None:
    require_role(Status.SUBMITTED, Action.REJECT, frozenset({Role.INTAKE}))
    require_role(Status.PROCESSING, Action.PROPOSE, frozenset({Role.SPECIALIST}))
    require_role(Status.APPROVED, Action.ISSUE_RESULT, frozenset({Role.INTAKE}))


def test_only_intake_refuses_a_dossier_awaiting_its_supplement() -> None:
    require_role(Status.SUPPLEMENT_REQUESTED, Action.REJECT, frozenset({Role.INTAKE}))
    with pytest.raises(WrongRole, match="intake"):
        require_role(Status.SUPPLEMENT_REQUESTED, Action.REJECT, frozenset({Role.APPROVER, Role.SPECIALIST}))
