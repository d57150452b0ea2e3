"""Fuzzing: schemathesis generates requests from each service's OpenAPI document and sends them through
the gateway, once with a signed-in citizen's token and once without a valid one (no token, or the
junk schemathesis makes up); no answer may be a 5xx, and every answer must match what the document
says (success status and content type, body schema, headers) or be problem details.

Both kinds of data are generated: valid by the schema (positive) and invalid (negative, which must be
refused with a 4xx). `make test` runs FUZZ_EXAMPLES (default 15) examples per operation, mode and
caller, derandomised so the suite is repeatable; `make fuzz` runs many more with fresh randomness.
Each failure is reported with a curl command that reproduces it. `KNOWN` lists failures already
reported to a service's owner, each kept as an xfail regression test in test_regressions.py: they are
counted and printed, and any other failure fails the test.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi import checks

if TYPE_CHECKING:
    from tests.pressure.conftest import Person, Pressure

SERVICES = ("identity", "catalogue", "submission", "notification", "webhooks")
NOT_ROUTED = {"/healthz", "/readyz", "/metrics"}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
RANDOM = os.environ.get("FUZZ_RANDOM", "") not in ("", "0")
PROBLEM_FIELDS = {"type", "title", "status", "detail"}


def problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error is RFC 9457 problem details (CONTRACT.md), with the HTTP status in its body."""
    if response.status_code < 400:
        return None
    kind = response.headers.get("content-type", [""])[0]
    assert kind.startswith("application/problem+json"), f"error {response.status_code} answered as {kind!r}"
    body = response.json()
    assert isinstance(body, dict), "problem details must be a JSON object"
    assert set(body) >= PROBLEM_FIELDS, f"problem details without {sorted(PROBLEM_FIELDS - set(body))}"
    assert body["status"] == response.status_code, f"body status {body['status']} != {response.status_code}"
    assert "Traceback" not in response.text, "a stack trace in an answer"
    return True


def documented_success(ctx: Any, response: Any, case: Any) -> bool | None:
    """A success status and its content type must be the documented ones."""
    if response.status_code >= 400:
        return None
    checks.status_code_conformance(ctx, response, case)
    return checks.content_type_conformance(ctx, response, case)


# Every operation declares its errors as problem details (`motcua.common.problems.declare_problems`), so
# schemathesis's own status and content-type checks apply to errors too; `problem_details` adds the body.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    documented_success,
    problem_details,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]


def trailing_space_in_a_header(response: Any) -> bool:
    sent = response.request.headers
    return response.status_code == 502 and any(str(v) != str(v).rstrip() for v in sent.values())


# Failures already reported, each with a regression test in test_regressions.py: counted, not failed on.
KNOWN: dict[str, Callable[[Any], bool]] = {
    "gateway: a header value ending in whitespace answers 502": trailing_space_in_a_header,
}


@dataclass
class Findings:
    """What a fuzzing run sent and what broke, one example kept per distinct failure."""

    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)
    known: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, status: int) -> None:
        with self.lock:
            self.requests += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def known_failure(self, response: Any) -> bool:
        for name, matches in KNOWN.items():
            if matches(response):
                with self.lock:
                    self.known[name] = self.known.get(name, 0) + 1
                return True
        return False

    def add(self, service: str, label: str, title: str, example: str) -> None:
        with self.lock:
            self.failures.setdefault((service, label, title), example)


def fuzz_service(service: str, document_url: str, gateway: str, token: str | None, findings: Findings) -> None:
    """Every routed operation of one service, both generation modes, through the gateway."""
    schema = schemathesis.openapi.from_url(document_url)
    session = requests.Session()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the document of {document_url} has an unreadable operation"
        operation = result.ok()
        if operation.path in NOT_ROUTED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz_operation(service, operation, mode, gateway, token, session, findings)
            except hypothesis.errors.Unsatisfiable:
                pass  # nothing in this operation can be made invalid (no parameters, no body)


def fuzz_operation(
    service: str,
    operation: Any,
    mode: GenerationMode,
    gateway: str,
    token: str | None,
    session: requests.Session,
    findings: Findings,
) -> None:
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def one(case: Any) -> None:
        if token and case.headers and "Authorization" in case.headers:
            # a valid token where the generated case has one; where schemathesis left it out on
            # purpose (negative data), it stays out and the answer must be 401
            case.headers["Authorization"] = f"Bearer {token}"
        curl = case.as_curl_command(base_url=gateway)
        try:
            response = case.call(base_url=gateway, session=session, timeout=15)
        except requests.RequestException as exc:
            findings.add(service, operation.label, "No answer", f"{exc!r}\n    {curl}")
            return
        findings.count(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as exc:
            if findings.known_failure(response):
                return
            for failure in exc.exceptions if isinstance(exc, FailureGroup) else [exc]:
                example = f"got {response.status_code}: {failure.message[:600]}\n    {curl}"
                findings.add(service, operation.label, failure.title, example)

    one()


@pytest.fixture(scope="module")
async def citizen(pressure: Pressure) -> AsyncIterator[Person]:
    async with pressure.client() as client:
        yield await pressure.citizen(client)


@pytest.fixture(scope="module")
async def admin(pressure: Pressure) -> AsyncIterator[Person]:
    async with pressure.client() as client:
        yield await pressure.admin(client)


# A citizen may call almost nothing of these; they are fuzzed signed in as who may (past the 403, into the checks).
SIGNED_IN_AS_ADMIN = {"webhooks"}


@pytest.mark.parametrize("signed_in", [True, False], ids=["citizen", "no-valid-token"])
async def test_generated_requests_get_no_5xx_and_match_the_documents(
    pressure: Pressure, citizen: Person, admin: Person, signed_in: bool
) -> None:
    findings = Findings()
    for service in SERVICES:  # one at a time: Hypothesis is not thread-safe
        token = (admin if service in SIGNED_IN_AS_ADMIN else citizen).access_token if signed_in else None
        await asyncio.to_thread(
            fuzz_service, service, f"{pressure.platform.url(service)}/openapi.json", pressure.gateway, token, findings
        )
    caller = "citizen (admin for webhooks)" if signed_in else "no valid token"
    print(
        f"\nfuzz ({caller}): {findings.requests} requests, "
        f"statuses {dict(sorted(findings.statuses.items()))}, known failures {findings.known}"
    )
    assert findings.requests >= 20 * EXAMPLES
    assert not findings.failures, "\n\n".join(
        f"{service} {label}: {title}\n{example}" for (service, label, title), example in findings.failures.items()
    )
