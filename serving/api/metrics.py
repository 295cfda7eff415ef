"""Prometheus metrics, one registry per app (several apps can live in one test process).

With several workers set ``PROMETHEUS_MULTIPROC_DIR`` (``evorec serve`` does) and /metrics
aggregates every worker's values.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prom_multiprocess

from evorec.serving.api.llm_health import forget_llm_probe

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
ENDPOINTS = frozenset({"recommend", "chat", "openai"})


def tool_label(name: str) -> str:
    """A tool name as a metric label: the agent's own tools by name, anything a model invented is "other"."""
    from evorec.agent import TOOLS

    return name if name in TOOLS else "other"


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class ApiMetrics:
    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        # In multiprocess mode values live in mmap files; the registry passed here is only for naming.
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("evorec_http_requests", "HTTP requests by route and status.",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("evorec_http_request_duration_seconds", "HTTP request latency by route.",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=r)
        self.answers = Counter("evorec_answers", "Recommendation answers by endpoint and mode.",
                               ["endpoint", "mode"], registry=r)
        self.degraded = Counter("evorec_degraded_answers", "Answers from the plan-first executor (no LLM).",
                                ["endpoint"], registry=r)
        self.llm_calls = Counter("evorec_llm_calls", "LLM calls made while answering.", ["endpoint"], registry=r)
        self.tool_calls = Counter("evorec_tool_calls", "Agent tool calls while answering.", ["tool"], registry=r)
        self.turns_in_flight = Gauge("evorec_turns_in_flight", "Agent turns running now.", registry=r,
                                     multiprocess_mode="livesum")
        self.turns_refused = Counter("evorec_turns_refused", "Turns refused (429): the concurrent-turn limit was "
                                     "reached.", registry=r)
        self.events = Counter("evorec_events_ingested", "Interaction events accepted by /v1/events.", registry=r)

    def observe_answer(self, endpoint: str, degraded: bool, llm_calls: int, tool_calls: list[str]) -> None:
        endpoint = endpoint if endpoint in ENDPOINTS else "other"
        self.answers.labels(endpoint, "degraded" if degraded else "llm").inc()
        if degraded:
            self.degraded.labels(endpoint).inc()
            forget_llm_probe()
        if llm_calls:
            self.llm_calls.labels(endpoint).inc(llm_calls)
        for tool in tool_calls:
            self.tool_calls.labels(tool_label(str(tool))).inc()

    def render(self) -> Response:
        if self.multiprocess:
            registry = CollectorRegistry()
            prom_multiprocess.MultiProcessCollector(registry)
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _route_label(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def install_metrics(app: FastAPI, metrics: ApiMetrics) -> None:
    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = _route_label(request)
            method = method_label(request.method)
            metrics.requests.labels(method, route, str(status)).inc()
            metrics.latency.labels(method, route).observe(time.perf_counter() - start)
