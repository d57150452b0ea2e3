"""Admission control: each service gets as much concurrent work as it can do well, and no more.

Pure ASGI middleware, inside the rate limit. A request for a routed service takes a slot of that
service's `Limiter` (an adaptive limit and a short priority queue, `limits.py`) before it is
forwarded, and gives it back when the service's answer has gone out. When no slot is to be had it is
answered at once — 503 problem details with `Retry-After` — and nothing is sent to the service; a
request that would be refused is never left to wait for a 504. The time to the service's headers
feeds the limit; a 503 or 504 from the service cuts it.
"""

from __future__ import annotations

import time
from functools import partial

import structlog
from motcua.common.problems import problem
from motcua.gateway import routes
from motcua.gateway.budget import AimdLimit, Budget
from motcua.gateway.limits import GradientLimit, Limiter, Refused
from motcua.gateway.priorities import Priority, priority_of
from motcua.gateway.settings import Settings
from prometheus_client import CollectorRegistry, Counter, Gauge
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

OVERLOADED = frozenset({503, 504})  # the service's own refusal, or its silence
NOT_A_SAMPLE = frozenset({502})  # the service is not there: its answer's time says nothing of its load


def limiters(settings: Settings, services: tuple[str, ...] = routes.SERVICES) -> dict[str, Limiter]:
    """One limiter per service, all under one budget of the gateway's own. Neither a service's maximum nor
    the budget's passes the upstream connection pool, so an admitted request never waits for a connection
    (which would end in a late 503)."""
    most = max(1, min(settings.gateway_admission_max_limit, settings.gateway_max_connections // len(services)))
    least = min(settings.gateway_admission_min_limit, most)
    total = max(1, min(settings.gateway_admission_total_limit, settings.gateway_max_connections))
    budget = Budget(
        AimdLimit(initial=total, minimum=min(settings.gateway_admission_total_min_limit, total), maximum=total),
        cpu_target=settings.gateway_admission_cpu_target,
    )
    return {
        service: Limiter(
            GradientLimit(initial=settings.gateway_admission_initial_limit, minimum=least, maximum=most),
            queue_size=settings.gateway_admission_queue_size,
            queue_seconds=settings.gateway_admission_queue_timeout_seconds,
            budget=budget,
        )
        for service in services
    }


class Admission:
    """Pure ASGI middleware: a slot of the service's limiter for each forwarded request, or 503 at once."""

    def __init__(self, app: ASGIApp, *, limiters: dict[str, Limiter], registry: CollectorRegistry) -> None:
        self.app = app
        self.limiters = limiters
        self.shed = Counter(
            "gateway_shed_total",
            "Requests refused by admission control, never forwarded",
            ["service", "priority", "reason"],
            registry=registry,
        )
        gauges = {
            "limit": Gauge("gateway_admission_limit", "Concurrency limit per service", ["service"], registry=registry),
            "in_flight": Gauge(
                "gateway_admission_in_flight", "Requests in flight per service", ["service"], registry=registry
            ),
            "queued": Gauge(
                "gateway_admission_queued", "Requests waiting for a slot per service", ["service"], registry=registry
            ),
        }
        for service, limiter in limiters.items():
            for name, gauge in gauges.items():
                gauge.labels(service).set_function(partial(limiter.measure, name))
        self.budget = next((limiter.budget for limiter in limiters.values() if limiter.budget is not None), None)
        if self.budget is not None:
            budget = self.budget
            Gauge(
                "gateway_admission_total_limit",
                "Limit of requests in flight to all services together",
                registry=registry,
            ).set_function(lambda: budget.aimd.limit)
            Gauge(
                "gateway_admission_total_in_flight", "Requests in flight to all services together", registry=registry
            ).set_function(lambda: float(budget.in_flight))
            Gauge(
                "gateway_event_loop_lag_seconds",
                "Moving average of how late the gateway's event loop runs a timer",
                registry=registry,
            ).set_function(lambda: budget.lag)
            Gauge(
                "gateway_cpu_busy_ratio",
                "Share of one core the gateway used in the last tenth of a second",
                registry=registry,
            ).set_function(lambda: budget.busy)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.budget is not None:
            self.budget.watch()
        path = scope["path"]
        service = routes.service_for(path)
        limiter = self.limiters.get(service) if service is not None and routes.is_safe(path) else None
        if limiter is None or service is None:
            await self.app(scope, receive, send)
            return
        priority = priority_of(scope["method"], path)
        try:
            await limiter.acquire(priority)
        except Refused as refused:
            await self._refuse(scope, receive, send, service, priority, refused)
            return
        began = time.perf_counter()
        rtt: float | None = None
        status = 0

        async def timed(message: Message) -> None:
            nonlocal rtt, status
            if message["type"] == "http.response.start" and rtt is None:
                rtt, status = time.perf_counter() - began, message["status"]
            await send(message)

        try:
            await self.app(scope, receive, timed)
        finally:
            if rtt is not None and status not in NOT_A_SAMPLE:
                limiter.release(rtt, overloaded=status in OVERLOADED)
            else:
                limiter.release()

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, service: str, priority: Priority, refused: Refused
    ) -> None:
        self.shed.labels(service, str(int(priority)), refused.reason).inc()
        response = problem(
            503,
            "Service busy",
            f"Many people are using the {service} service just now; your request was not sent to it, so nothing "
            f"was done. Try again in {refused.retry_after} s.",
            request=Request(scope),
            headers={"Retry-After": str(refused.retry_after)},
        )
        await response(scope, receive, send)
