"""Which requests are kept longest when the platform sheds load: by what a refusal would cost a person.

Pure rules on the method and the path (the gateway never reads a body or verifies a token):

1. a dossier in progress: autosave, upload, removing a document, submit, resubmit — and refreshing
   the access token, without which the citizen filling the form is signed out;
2. signing in, registering and verifying (the rest of identity's public routes);
3. officers' and admins' work (the agency's desk, officer accounts, managing the catalogue), and a
   signed-in person's own pages: their dossiers, starting a draft, notifications, the form's version
   of a procedure (`/v1/procedures/{code}/versions/{n}`, which only the dossier's form page reads);
4. browsing and search of the catalogue, and anything not named here;
5. anonymous lookup of a dossier by its tracking code (and of a result by its verification code).

A priority is no permission: a caller who picks a route for its priority gets that route only, and
the services still decide who may do what.
"""

from __future__ import annotations

from enum import IntEnum


class Priority(IntEnum):
    """Lower is kept longer."""

    DOSSIER = 1
    SIGN_IN = 2
    WORK = 3
    BROWSING = 4
    LOOKUP = 5


SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
# what the form of a dossier in progress sends: /v1/applications/{id}[/documents[/{doc}]|/submit|/resubmit]
DOSSIER_STEPS = frozenset({"documents", "submit", "resubmit"})


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def priority_of(method: str, path: str) -> Priority:
    """The priority of a request by its method and path (see the module's docstring)."""
    parts = _segments(path)
    if parts[:1] == [".well-known"]:
        return Priority.SIGN_IN
    if parts[:1] != ["v1"] or len(parts) < 2:
        return Priority.BROWSING
    area, rest = parts[1], parts[2:]
    if area == "applications":
        return _applications(method, rest)
    if area == "auth":
        return Priority.DOSSIER if rest == ["refresh"] else Priority.SIGN_IN
    if area == "accounts":
        return Priority.SIGN_IN
    if area in ("agency", "admin", "notifications", "webhooks"):
        return Priority.WORK
    if area in ("lookup", "verify"):
        return Priority.LOOKUP
    if area == "procedures" and (method not in SAFE or (len(rest) == 3 and rest[1] == "versions")):
        return Priority.WORK  # managing the catalogue (admins), or the form of a dossier in progress
    return Priority.BROWSING


def _applications(method: str, rest: list[str]) -> Priority:
    if method in SAFE or not rest:
        return Priority.WORK  # reading one's dossiers; starting a draft (nothing typed yet)
    if len(rest) == 1 and method in ("PATCH", "PUT"):
        return Priority.DOSSIER  # autosave
    if len(rest) >= 2 and rest[1] in DOSSIER_STEPS:
        return Priority.DOSSIER
    return Priority.WORK  # withdraw, rating, payment: decisions, which lose nothing when retried


# The share of the limit each priority may fill: what is left above it is kept for the ones before it.
SHARES: dict[Priority, float] = {
    Priority.DOSSIER: 1.0,
    Priority.SIGN_IN: 0.9,
    Priority.WORK: 0.8,
    Priority.BROWSING: 0.7,
    Priority.LOOKUP: 0.5,
}
# Retry-After, in seconds, when nothing is being refused; it grows to five times this as refusals do.
RETRY_BASE: dict[Priority, int] = {
    Priority.DOSSIER: 1,
    Priority.SIGN_IN: 1,
    Priority.WORK: 2,
    Priority.BROWSING: 2,
    Priority.LOOKUP: 3,
}
