"""The state machine of an application (CONTRACT.md), on its own so it can be read in one screen."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from motcua.common.errors import Conflict, Forbidden


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
    PROPOSE = "propose"
    APOLOGISE = "apologise"  # not a move: a later due date with an apology, from any open status
    ASSIGN = "assign"  # not a move: the dossier given to a specialist of the agency, from any open status
    REVOKE_RESULT = "revoke_result"  # not a move: the issued result withdrawn by an approver (results.py)
    RESUBMIT = "resubmit"
    WITHDRAW = "withdraw"


Actor = Literal["citizen", "officer"]


class Role(StrEnum):
    """What an officer does inside their agency's one-stop desk (several may be held)."""

    INTAKE = "intake"  # tiếp nhận: accepts, asks for a supplement, refuses at intake, returns the result
    SPECIALIST = "specialist"  # chuyên viên: examines, asks for a supplement, proposes a decision
    APPROVER = "approver"  # lãnh đạo: approves or rejects


ALL_ROLES = frozenset(Role)

# Who takes each action: the applicant, or an officer of the procedure's agency.
ACTOR: dict[Action, Actor] = {
    Action.SUBMIT: "citizen",
    Action.ACCEPT: "officer",
    Action.REQUEST_SUPPLEMENT: "officer",
    Action.APPROVE: "officer",
    Action.REJECT: "officer",
    Action.ISSUE_RESULT: "officer",
    Action.PROPOSE: "officer",
    Action.RESUBMIT: "citizen",
    Action.WITHDRAW: "citizen",
}
OFFICER_ACTIONS = frozenset(a for a, actor in ACTOR.items() if actor == "officer")
# Officers must say why: the citizen reads this comment in the message they receive (a proposal's
# comment is the specialist's reasoning, read by the approver).
COMMENT_REQUIRED = frozenset({Action.REQUEST_SUPPLEMENT, Action.REJECT, Action.PROPOSE})

# Which roles take each officer's action (CONTRACT.md "Officers and roles").
ROLES: dict[Action, frozenset[Role]] = {
    Action.ACCEPT: frozenset({Role.INTAKE}),
    Action.ISSUE_RESULT: frozenset({Role.INTAKE}),
    Action.REQUEST_SUPPLEMENT: frozenset({Role.INTAKE, Role.SPECIALIST}),
    Action.PROPOSE: frozenset({Role.SPECIALIST}),
    Action.APPROVE: frozenset({Role.APPROVER}),
    Action.REJECT: frozenset({Role.APPROVER}),
}
# ...and the exceptions: intake refuses a dossier it has not accepted (refusal at intake, Decree 61 slip), or
# one whose supplement did not come by its supply-by date.
REFUSALS_AT_INTAKE = frozenset({(Status.SUBMITTED, Action.REJECT), (Status.SUPPLEMENT_REQUESTED, Action.REJECT)})
# Only intake refuses a dossier awaiting its supplement (the approver decides only what was examined).
INTAKE_ONLY = frozenset({(Status.SUPPLEMENT_REQUESTED, Action.REJECT)})

# Recorded in the history, no change of status, nobody outside the agency told.
ADVISORY = frozenset({Action.PROPOSE})
# Entries of the agency's own desk, which the applicant's copy of the history leaves out.
INTERNAL = frozenset({Action.PROPOSE, Action.ASSIGN})

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
    # the supply-by date passed without the supplement: intake may refuse (the model checks the date)
    (Status.SUPPLEMENT_REQUESTED, Action.REJECT): Status.REJECTED,
    (Status.SUBMITTED, Action.WITHDRAW): Status.WITHDRAWN,
    (Status.SUPPLEMENT_REQUESTED, Action.WITHDRAW): Status.WITHDRAWN,
    (Status.PROCESSING, Action.PROPOSE): Status.PROCESSING,  # advice: the status stays
}

# An apology and a new date may be given while the agency still owes an answer.
OPEN = frozenset({Status.SUBMITTED, Status.PROCESSING, Status.SUPPLEMENT_REQUESTED, Status.APPROVED})

# The citizen may change the form and the documents only in these states.
EDITABLE = frozenset({Status.DRAFT, Status.SUPPLEMENT_REQUESTED})
FINAL = frozenset({Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN})


class TransitionNotAllowed(Conflict):
    title = "Transition not allowed"


class WrongRole(Forbidden):
    title = "Not your role"


def roles_for(current: Status, action: Action) -> frozenset[Role]:
    """The roles that may take `action` on an application in `current` (empty for a citizen's action)."""
    if (current, action) in INTAKE_ONLY:
        return frozenset({Role.INTAKE})
    roles = ROLES.get(action, frozenset())
    return roles | {Role.INTAKE} if (current, action) in REFUSALS_AT_INTAKE else roles


def allowed(current: Status, by: Actor, roles: frozenset[Role] = ALL_ROLES) -> list[Action]:
    """The actions `by` may take on an application in `current`, in the order they are offered; for an
    officer, only those their `roles` allow."""
    return [
        a
        for (s, a) in TRANSITIONS
        if s == current and ACTOR[a] == by and (by == "citizen" or roles & roles_for(current, a))
    ]


def require_role(current: Status, action: Action, roles: frozenset[Role]) -> None:
    """WrongRole (403) unless one of `roles` takes `action` from `current`."""
    needed = roles_for(current, action)
    if not roles & needed:
        names = " or ".join(sorted(r.value for r in needed))
        raise WrongRole(f"Only an officer with the {names} role can {action.value.replace('_', ' ')} this dossier.")


def next_status(current: Status, action: Action) -> Status:
    """Where `action` takes an application in `current`; TransitionNotAllowed otherwise."""
    target = TRANSITIONS.get((current, action))
    if target is None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s == current)
        hint = f"; from {current} you can: {', '.join(allowed)}" if allowed else f"; {current} is final"
        raise TransitionNotAllowed(f"Cannot {action.value.replace('_', ' ')} an application that is {current}{hint}.")
    return target
