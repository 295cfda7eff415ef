"""Shared, real engines for the API tests (imported by tests/test_api_*.py and tests/test_web_*.py).

One small synthetic dataset, one embedded Chroma store, one Toolbox and one AgentService
(no LLM: plan-first) per test process, built on first use; and a real uvicorn server on
127.0.0.1 in a thread for the tests that need a socket (OpenAI client, Chromium).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import httpx
import uvicorn
from fastapi import FastAPI
from harness.live_server import free_port

from evorec.serving.api import create_app
from evorec.serving.api.engines import Engines
from evorec.settings import Settings

# Synthetic v2 has 70-90 events per user: on a 120-item catalog most validation targets were already seen,
# outside the candidate pool, and the fusion could not be fitted (2 of 45 users). 60 users x 200 items:
# pool recall 0.6, and the adaptive-ingest test sees the answer move.
API_SYNTHETIC = {"n_users": 60, "n_items": 200}
_lock = threading.Lock()
# In open mode the API answers loopback Host names only (DNS rebinding): in-process clients address it so.
LOOPBACK_BASE = "http://127.0.0.1"
_built: dict[str, Any] = {}


def api_settings(home: Path, **overrides: Any) -> Settings:
    return Settings(home=home, dataset="synthetic", chroma_mode="embedded", llm="none", threads=1, **overrides)


def build_services(root: Path) -> Engines:
    """The real engines over a small synthetic dataset, under ``root`` (built once per process):
    generated data, ingested store, trained forecaster (2 epochs), fitted fusion ranker."""
    with _lock:
        if "services" not in _built:
            from evorec.agent import AgentService
            from evorec.tools.toolbox import Toolbox

            settings = api_settings(root / "home")
            prepare_small(settings)
            toolbox = Toolbox.open(settings, "synthetic")
            agent = AgentService(toolbox, settings)
            _built["services"] = Engines(settings, toolbox=toolbox, agent=agent)
        return _built["services"]


def prepare_small(settings: Settings) -> None:
    from evorec.tools.data.synthetic import generate_synthetic
    from evorec.tools.training import PrepareOptions, prepare

    generate_synthetic(settings.data_dir / "synthetic", seed=settings.synthetic_seed, **API_SYNTHETIC)
    prepare(settings, PrepareOptions(dataset="synthetic", epochs=2))


def known_users(services: Engines, n: int = 5) -> list[str]:
    from evorec.tools.data.loader import load_dataset

    ds = load_dataset("synthetic", settings=services.settings)
    counts = ds.interactions["user_id"].value_counts()
    return [str(u) for u in counts.index[:n]]


@contextmanager
def uvicorn_server(app: FastAPI) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 (random port) in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/openapi.json", timeout=1.0)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


def make_app(services: Engines, **overrides: Any) -> FastAPI:
    settings = services.settings.model_copy(update=overrides) if overrides else services.settings
    return create_app(settings, services)


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """SSE frames as (event, decoded JSON data); ``[DONE]`` stays a string."""
    import json

    out: list[tuple[str, Any]] = []
    for frame in text.replace("\r\n", "\n").split("\n\n"):
        event, data = "message", []
        for line in frame.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            raw = "\n".join(data)
            try:
                out.append((event, json.loads(raw)))
            except ValueError:
                out.append((event, raw))
    return out
