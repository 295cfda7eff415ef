"""Shared FastAPI dependencies: the app's services, metrics and key ring."""

from __future__ import annotations

from fastapi import Request

from evorec.serving.api.engines import Engines
from evorec.serving.api.metrics import ApiMetrics


def get_services(request: Request) -> Engines:
    return request.app.state.services


def get_metrics(request: Request) -> ApiMetrics:
    return request.app.state.metrics
