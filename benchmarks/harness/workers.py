"""Reach every worker process of a multi-worker ``evorec serve`` (they share one listening socket).

Sequential requests are a poor way to do it: the kernel hands a new connection to whichever worker it
wakes, and on a loaded machine the same idle worker can take 80 in a row. Concurrent requests through
fresh connections spread: while one worker is busy with a request, another accepts the next.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

WORKER_HEADER = "x-evorec-worker"


def each_worker(url: str, ask: Callable[[httpx.Client], httpx.Response], workers: int = 2, rounds: int = 20,
                per_round: int = 6) -> dict[str, httpx.Response]:
    """One response per worker process (keyed by its ``X-Evorec-Worker`` header), asked through fresh
    connections, ``per_round`` at a time; AssertionError when fewer than ``workers`` answered."""

    def one() -> httpx.Response:
        with httpx.Client(base_url=url, timeout=120, headers={"Connection": "close"}) as http:
            return ask(http)

    seen: dict[str, httpx.Response] = {}
    with ThreadPoolExecutor(per_round) as pool:
        for _ in range(rounds):
            for r in pool.map(lambda _: one(), range(per_round)):
                seen.setdefault(r.headers[WORKER_HEADER], r)
            if len(seen) >= workers:
                return seen
    raise AssertionError(f"only workers {sorted(seen)} answered in {rounds * per_round} fresh connections")
