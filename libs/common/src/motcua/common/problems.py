"""Problem details (RFC 9457): the one place that turns domain errors, bad input, missing routes and
database outages into answers, and says so in every service's OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from motcua.common import errors
from pymongo.errors import ConnectionFailure, PyMongoError, ServerSelectionTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"

_STATUS: list[tuple[type[errors.DomainError], int]] = [
    (errors.InvalidInput, 422),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Forbidden, 403),
    (errors.Unauthenticated, 401),
    (errors.PreconditionFailed, 412),
    (errors.PreconditionRequired, 428),
    (errors.PayloadTooLarge, 413),
    (errors.UnsupportedMediaType, 415),
    (errors.Gone, 410),
    (errors.TooManyRequests, 429),
    (errors.Unavailable, 503),
]


def _slug(title: str) -> str:
    return "-".join(title.lower().split())


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    request: Request | None = None,
    problems: Sequence[errors.FieldProblem] | Sequence[dict[str, str]] = (),
    headers: dict[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """An RFC 9457 problem-details response, with the request id and never a stack trace."""
    body: dict[str, Any] = {
        **(extensions or {}),
        "type": f"urn:motcua:problem:{_slug(title)}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        body["request_id"] = getattr(request.state, "request_id", None)
    if problems:
        body["errors"] = [
            {"pointer": p.pointer, "message": p.message} if isinstance(p, errors.FieldProblem) else p for p in problems
        ]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details: what went wrong, for people and for programs.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "urn:motcua:problem:<slug of the title>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "description": "the HTTP status"},
        "detail": {"type": "string", "description": "what to do about it, for the person using the service"},
        "instance": {"type": "string", "description": "the path asked for"},
        "request_id": {"type": ["string", "null"], "description": "quote it when reporting a problem"},
        "errors": {
            "type": "array",
            "description": "each invalid field: a JSON pointer into `location` (body, query, path, header)",
            "items": {
                "type": "object",
                "properties": {
                    "pointer": {"type": "string"},
                    "location": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def declare_problems(app: FastAPI) -> None:
    """Say in the OpenAPI document what every error is: problem details, as each operation's `default`
    answer and as its 422 (FastAPI would declare its own validation-error shape as plain JSON)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        shape = {"schema": {"$ref": "#/components/schemas/Problem"}}
        content = {PROBLEM_JSON: shape}
        for item in document.get("paths", {}).values():
            for method, operation in item.items():
                if method not in _METHODS:
                    continue
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = {"description": "Invalid input: `errors` names each field", "content": content}
                responses.setdefault(
                    "default", {"description": "Any other error, as problem details", "content": content}
                )
                for response in responses.values():  # errors a route declared without their shape
                    if response.get("content", {}).get(PROBLEM_JSON) == {}:
                        response["content"][PROBLEM_JSON] = shape
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's, replaced above
            if f'"#/components/schemas/{unused}"' not in json.dumps(document):
                schemas.pop(unused, None)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _pointer(loc: Sequence[int | str]) -> dict[str, str]:
    where = str(loc[0]) if loc else "body"
    return {"pointer": errors.pointer(*loc[1:]) or "/", "location": where}


_UNPARSABLE_BODY = "There was an error parsing the body"


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors, bad input, missing routes and database outages to problem details."""

    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.DomainError)
        status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 400)
        headers: dict[str, str] = {}
        if isinstance(exc, errors.TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, errors.Unavailable):
            headers["Retry-After"] = "5"
        if isinstance(exc, errors.Unauthenticated):
            headers["WWW-Authenticate"] = 'Bearer realm="motcua"'
        found = exc.problems if isinstance(exc, errors.InvalidInput) else ()
        return problem(
            status, exc.title, exc.detail, request=request, problems=found, headers=headers, extensions=exc.extensions
        )

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        found = []
        for e in exc.errors():
            entry = _pointer(e.get("loc", ()))
            entry["message"] = str(e.get("msg", "invalid"))
            found.append(entry)
        fields = ", ".join(f["pointer"] or f["location"] for f in found)
        return problem(422, "Invalid input", f"Check these fields: {fields}", request=request, problems=found)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:  # FastAPI's: not UTF-8, or nested too deep
            unreadable = "not readable as JSON: not UTF-8, or nested too deep"
            found = [{"pointer": "/", "location": "body", "message": unreadable}]
            return problem(
                422,
                "Invalid input",
                "Check these fields: the body (not readable as JSON)",
                request=request,
                problems=found,
            )
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Request refused")
        return problem(exc.status_code, title, str(exc.detail), request=request, headers=dict(exc.headers or {}))

    async def database_down(request: Request, exc: Exception) -> Response:
        log.warning("database_unavailable", error=str(exc))
        return problem(
            503,
            "Service unavailable",
            "The service cannot reach its database just now; nothing was saved. Try again shortly.",
            request=request,
            headers={"Retry-After": "5"},
        )

    async def database_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PyMongoError)
        if exc.timeout:
            return await database_down(request, exc)
        log.error("database_error", error=str(exc))
        return problem(500, "Internal error", "Something went wrong on our side; it has been logged.", request=request)

    app.add_exception_handler(errors.DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ConnectionFailure, database_down)
    app.add_exception_handler(ServerSelectionTimeoutError, database_down)
    app.add_exception_handler(PyMongoError, database_error)
