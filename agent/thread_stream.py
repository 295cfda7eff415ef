"""Streaming a turn that runs in a worker thread: its events as they happen, then one ``final`` event."""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterator

from evorec.agent.stream_events import AgentEvent, Emit
from evorec.agent.turn_trace import TurnResult


def stream_turn(run: Callable[[Emit], TurnResult]) -> Iterator[AgentEvent]:
    """Run ``run(emit)`` in a thread and yield what it emits; always ends with exactly one ``final`` event, or
    an ``error`` event followed by the turn's exception, re-raised in the caller's thread."""
    q: queue.Queue[AgentEvent | None] = queue.Queue()
    result: dict[str, TurnResult] = {}
    error: list[Exception] = []

    def work() -> None:
        try:
            result["r"] = run(q.put)
        except Exception as e:  # surfaced as an error event, then re-raised in the caller's thread
            error.append(e)
        finally:
            q.put(None)

    ctx = contextvars.copy_context()  # the caller's cancel flag (evorec.agent.cancel) reaches the worker
    t = threading.Thread(target=ctx.run, args=(work,), name="evorec-agent-turn", daemon=True)
    t.start()
    while (ev := q.get()) is not None:
        yield ev
    t.join()
    if error:
        yield AgentEvent(type="error", text=str(error[0]).splitlines()[0] if str(error[0]) else "error")
        raise error[0]
    yield AgentEvent(type="final", recommendations=result["r"].recommendations)
