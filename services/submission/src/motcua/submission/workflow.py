"""The state machine of an application (CONTRACT.md), on its own so it can be read in one screen."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from motcua.common.errors import Conflict


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    APPROVED = "approved"
    COMPLETED = "completed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    SUBMIT = "submit"
    ACCEPT = "accept"
    REQUEST_SUPPLEMENT = "request_supplement"
    APPROVE = "approve"
    REJECT = "reject"
    ISSUE_RESULT = "issue_result"
    RESUBMIT = "resubmit"
    WITHDRAW = "withdraw"


Actor = Literal["citizen", "officer"]

# Who takes each action: the applicant, or an officer of the procedure's agency.
ACTOR: dict[Action, Actor] = {
    Action.SUBMIT: "citizen",
    Action.ACCEPT: "officer",
    Action.REQUEST_SUPPLEMENT: "officer",
    Action.APPROVE: "officer",
    Action.REJECT: "officer",
    Action.ISSUE_RESULT: "officer",
    Action.RESUBMIT: "citizen",
    Action.WITHDRAW: "citizen",
}
OFFICER_ACTIONS = frozenset(a for a, actor in ACTOR.items() if actor == "officer")
# Officers must say why: the citizen reads this comment in the message they receive.
COMMENT_REQUIRED = frozenset({Action.REQUEST_SUPPLEMENT, Action.REJECT})

# In the order a person is offered the moves from a status (the first is the usual one).
TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.DRAFT, Action.SUBMIT): Status.SUBMITTED,
    (Status.SUBMITTED, Action.ACCEPT): Status.PROCESSING,
    (Status.PROCESSING, Action.APPROVE): Status.APPROVED,
    (Status.APPROVED, Action.ISSUE_RESULT): Status.COMPLETED,
    (Status.SUBMITTED, Action.REQUEST_SUPPLEMENT): Status.SUPPLEMENT_REQUESTED,
    (Status.PROCESSING, Action.REQUEST_SUPPLEMENT): Status.SUPPLEMENT_REQUESTED,
    (Status.SUPPLEMENT_REQUESTED, Action.RESUBMIT): Status.PROCESSING,
    (Status.SUBMITTED, Action.REJECT): Status.REJECTED,
    (Status.PROCESSING, Action.REJECT): Status.REJECTED,
    (Status.SUBMITTED, Action.WITHDRAW): Status.WITHDRAWN,
    (Status.SUPPLEMENT_REQUESTED, Action.WITHDRAW): Status.WITHDRAWN,
}

# The citizen may change the form and the documents only in these states.
EDITABLE = frozenset({Status.DRAFT, Status.SUPPLEMENT_REQUESTED})
FINAL = frozenset({Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN})


class TransitionNotAllowed(Conflict):
    title = "Transition not allowed"


def allowed(current: Status, by: Actor) -> list[Action]:
    """The actions `by` may take on an application in `current`, in the order they are offered."""
    return [a for (s, a) in TRANSITIONS if s == current and ACTOR[a] == by]


def next_status(current: Status, action: Action) -> Status:
    """Where `action` takes an application in `current`; TransitionNotAllowed otherwise."""
    target = TRANSITIONS.get((current, action))
    if target is None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s == current)
        hint = f"; from {current} you can: {', '.join(allowed)}" if allowed else f"; {current} is final"
        raise TransitionNotAllowed(f"Cannot {action.value.replace('_', ' ')} an application that is {current}{hint}.")
    return target
