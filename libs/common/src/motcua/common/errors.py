"""Domain errors every service raises; `motcua.common.web` maps each kind to problem details.

The domain knows nothing of HTTP: it raises these (or subclasses named for the rule, such as
`TransitionNotAllowed(Conflict)`), and one place turns them into statuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def pointer(*parts: object) -> str:
    """The JSON pointer (RFC 6901) naming `parts`: `pointer("data", "a/b")` is `/data/a~1b`."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class FieldProblem:
    """One invalid input: a JSON pointer into what the user sent, and what is wrong with it."""

    pointer: str
    message: str


class DomainError(Exception):
    """A rule of the domain said no. `title` is short and stable; the message is the detail."""

    title = "Request refused"
    # Members the problem details carry beyond the standard ones (RFC 9457 extensions), such as `attempts_left`.
    extensions: Mapping[str, Any] = {}

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class NotFound(DomainError):
    title = "Not found"


class Conflict(DomainError):
    title = "Conflict"


class Forbidden(DomainError):
    title = "Forbidden"


class Unauthenticated(DomainError):
    title = "Authentication required"


class PreconditionFailed(DomainError):
    title = "Precondition failed"


class PreconditionRequired(DomainError):
    """A conditional request was needed (e.g. If-Match) and none was sent."""

    title = "Precondition required"


class PayloadTooLarge(DomainError):
    title = "Payload too large"


class UnsupportedMediaType(DomainError):
    title = "Unsupported media type"


class Gone(DomainError):
    title = "Gone"


class Unavailable(DomainError):
    """The service cannot serve this just now (starting, or a dependency is down); try again shortly."""

    title = "Service unavailable"


class TooManyRequests(DomainError):
    title = "Too many requests"

    def __init__(self, detail: str = "", *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


class InvalidInput(DomainError):
    """Input that breaks a rule; carries every problem found, not just the first."""

    title = "Invalid input"

    def __init__(self, problems: list[FieldProblem], detail: str = "") -> None:
        super().__init__(detail or "; ".join(f"{p.pointer}: {p.message}" for p in problems))
        self.problems = problems

    @classmethod
    def one(cls, pointer: str, message: str) -> InvalidInput:
        return cls([FieldProblem(pointer, message)])
