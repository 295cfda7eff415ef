"""The FastAPI app factory: ``create_app(settings, services=None)``.

Routes live in ``evorec.serving.api.routes.*`` (one module per concern); this module
wires settings, auth, metrics, error handlers, the web page and the engines together.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from evorec import __version__
from evorec.serving.api.auth import KeyRing
from evorec.serving.api.engines import Engines
from evorec.serving.api.errors import install_error_handlers
from evorec.serving.api.guard import install_guard
from evorec.serving.api.jobs import RetrainJobs
from evorec.serving.api.metrics import ApiMetrics, install_metrics
from evorec.serving.api.responses import SafeJSONResponse
from evorec.serving.api.routes import (
    admin,
    chat,
    event_ingest,
    health,
    openai_compat,
    recommend,
    sessions,
    users,
    web,
)
from evorec.serving.api.turns import TurnGate
from evorec.serving.api.worker_id import WorkerIdMiddleware
from evorec.settings import Settings, get_settings

log = logging.getLogger("evorec.api")

DESCRIPTION = """evorec recommends what a person will want next by forecasting how their interests evolve,
and says why, with evidence. Endpoints: programmatic recommendations, a streamed chat (SSE), an
OpenAI-compatible chat-completions facade (model `evorec`), adaptive event ingest, per-user interest
trends and charts, user erasure, admin retraining, health and Prometheus metrics."""


def create_app(settings: Settings | None = None, services: Engines | None = None) -> FastAPI:
    settings = settings or get_settings()
    services = services or Engines(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # open the engines (store cache warmed) in the background, so the first requests do not pay for it;
        # requests arriving earlier wait on the same lock instead of opening a second copy
        threading.Thread(target=services.warm_up, name="warm-up", daemon=True).start()
        yield
        services.close()

    app = FastAPI(title="evorec", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  default_response_class=SafeJSONResponse)
    app.state.settings = settings
    app.state.services = services
    app.state.keyring = KeyRing(settings)
    app.state.metrics = ApiMetrics()
    app.state.jobs = RetrainJobs(settings, services)
    app.state.turns = TurnGate(settings.max_concurrent_turns, app.state.metrics)
    install_error_handlers(app)
    install_guard(app)  # before the metrics middleware: metrics stays outermost and counts refusals too
    app.add_middleware(WorkerIdMiddleware)
    install_metrics(app, app.state.metrics)
    for module in (health, recommend, chat, sessions, openai_compat, event_ingest, users, admin, web):
        app.include_router(module.router)
    if not app.state.keyring.enabled:
        log.warning("no API keys configured (EVOREC_API_KEYS): the API is open; serve it on 127.0.0.1 only")
    return app
