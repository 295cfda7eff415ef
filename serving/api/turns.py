"""Agent turns under the serving rules: a bounded number at once, and cancelled when the client leaves.

- **Bounded**: at most ``max_concurrent_turns`` turns (chat, chat completions, recommend with the LLM)
  run per API process; past it a request gets 429 with ``Retry-After`` (a typical turn's duration), at
  once, instead of queueing behind slow LLM calls.
- **Off the request thread pool**: each turn runs in its own thread and hands its events to the event
  loop, so slow turns never hold the pool that ``/healthz``, ``/v1/recommend`` and the other sync routes
  run on.
- **Cancelled on disconnect**: a watcher waits for the client's ``http.disconnect`` (streaming or not)
  and sets the turn's cancel flag; the agent stops at the next token, tool or LLM call and closes its LLM
  stream (:mod:`evorec.agent.cancel`). The slot is freed when the turn's thread has actually stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from fastapi import HTTPException, Request

from evorec.agent import TurnCancelled, cancel_scope
from evorec.serving.api.metrics import ApiMetrics

log = logging.getLogger("evorec.api")
T = TypeVar("T")
_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class TurnGate:
    """Counts running turns; admits a new one or answers 429."""

    def __init__(self, limit: int, metrics: ApiMetrics | None = None) -> None:
        self.limit = limit
        self.metrics = metrics
        self._lock = threading.Lock()
        self.running = 0
        self._typical_s = 10.0  # moving average of turn durations, for Retry-After

    def retry_after_s(self) -> int:
        return int(min(60, max(1, math.ceil(self._typical_s))))

    def admit(self) -> None:
        with self._lock:
            if self.running >= self.limit:
                if self.metrics is not None:
                    self.metrics.turns_refused.inc()
                wait = self.retry_after_s()
                raise HTTPException(429, f"{self.running} agent turns are running, the most this server runs at once "
                                    f"(EVOREC_MAX_CONCURRENT_TURNS={self.limit}); retry in {wait} s",
                                    headers={"Retry-After": str(wait)})
            self.running += 1
        if self.metrics is not None:
            self.metrics.turns_in_flight.inc()

    def done(self, took_s: float) -> None:
        with self._lock:
            self.running -= 1
            self._typical_s = 0.8 * self._typical_s + 0.2 * took_s
        if self.metrics is not None:
            self.metrics.turns_in_flight.dec()




class TurnRun:
    """One admitted turn: ``produce()`` runs in its own thread under a cancel flag; its items arrive here.

    Create it inside an async endpoint (it starts at once, so the slot is freed even if the response body
    is never iterated); then iterate :meth:`items` (streaming) or await :meth:`collect`."""

    def __init__(self, gate: TurnGate, request: Request, produce: Callable[[], Iterator[T]]) -> None:
        gate.admit()
        self.cancel = threading.Event()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        started = time.monotonic()

        def put(item: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone (server shutting down): nobody listens
                loop.call_soon_threadsafe(self._queue.put_nowait, item)

        def pump() -> None:
            try:
                with cancel_scope(self.cancel):
                    for item in produce():
                        put(item)
                        if self.cancel.is_set():
                            break
            except BaseException as e:  # handed to the consumer, which re-raises it
                put(_Failed(e))
            finally:
                gate.done(time.monotonic() - started)
                put(_DONE)

        self._thread = threading.Thread(target=pump, name="evorec-turn", daemon=True)
        self._thread.start()
        self.disconnected = False
        self._watcher = asyncio.ensure_future(self._watch(request))

    async def _watch(self, request: Request) -> None:
        while not self.cancel.is_set():
            message = await request.receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                self.cancel.set()
                log.info("client disconnected: turn cancelled")
                return

    async def items(self) -> AsyncIterator[Any]:
        try:
            while True:
                item = await self._queue.get()
                if item is _DONE:
                    return
                if isinstance(item, _Failed):
                    raise item.exc
                yield item
        finally:
            # normal end: no-op for a finished turn; cancelled (client gone, stream task cancelled): stop the turn
            self.cancel.set()
            self._watcher.cancel()

    async def collect(self) -> list[Any]:
        """Every item (a non-streaming reply); 499 when the client left and the turn was cancelled."""
        try:
            items = [item async for item in self.items()]
        except TurnCancelled:
            items = []
        if self.disconnected:
            raise HTTPException(499, "client disconnected; turn cancelled")
        return items


def get_turn_gate(request: Request) -> TurnGate:
    return request.app.state.turns
