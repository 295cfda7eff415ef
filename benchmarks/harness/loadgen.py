"""A bounded closed-loop HTTP load generator (threads, one keep-alive client each), loopback only.

Used by ``benchmarks/bench_api.py`` and the load test: ``n`` clients each send a request,
wait for the answer, send the next, until the duration (or the request cap) runs out.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import httpx
import numpy as np
from pydantic import BaseModel, Field

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class LoadResult(BaseModel):
    clients: int
    seconds: float
    requests: int
    errors: int
    error_samples: list[str] = Field(default_factory=list)
    status_counts: dict[str, int] = Field(default_factory=dict)
    throughput: float = Field(description="Successful requests per second.")
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


def run_load(base_url: str, path: str, body: Callable[[random.Random], dict[str, Any]], clients: int,
             duration_s: float, max_requests: int = 1_000_000, timeout_s: float = 60.0, seed: int = 0,
             headers: dict[str, str] | None = None) -> LoadResult:
    if urlparse(base_url).hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"load generation is loopback-only; refusing {base_url}")
    latencies: list[float] = []
    errors: list[str] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    issued = [0]
    stop_at = time.monotonic() + duration_s

    def worker(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        with httpx.Client(base_url=base_url, timeout=timeout_s, headers=headers) as client:
            while time.monotonic() < stop_at:
                with lock:
                    if issued[0] >= max_requests:
                        return
                    issued[0] += 1
                t0 = time.perf_counter()
                try:
                    r = client.post(path, json=body(rng))
                    ms = (time.perf_counter() - t0) * 1000
                    with lock:
                        statuses[str(r.status_code)] = statuses.get(str(r.status_code), 0) + 1
                        if r.status_code == 200:
                            latencies.append(ms)
                        else:
                            errors.append(f"{r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as e:
                    with lock:
                        statuses["exception"] = statuses.get("exception", 0) + 1
                        errors.append(f"{type(e).__name__}: {e}"[:200])

    t_start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - t_start
    lat = np.array(latencies) if latencies else np.array([float("nan")])
    return LoadResult(clients=clients, seconds=round(seconds, 2), requests=len(latencies) + len(errors),
                      errors=len(errors), error_samples=errors[:5], status_counts=statuses,
                      throughput=round(len(latencies) / seconds, 2) if seconds > 0 else 0.0,
                      p50_ms=round(float(np.percentile(lat, 50)), 1), p95_ms=round(float(np.percentile(lat, 95)), 1),
                      p99_ms=round(float(np.percentile(lat, 99)), 1), max_ms=round(float(np.max(lat)), 1))
