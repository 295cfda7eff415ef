"""Running a chat turn as a stream of agent events, with the serving guarantees.

Whatever goes wrong after the response has started (status line already sent), the
stream ends with one ``error`` event carrying ``{"error": {message, type, code}}``, never
a broken connection or a traceback. LLM trouble never reaches here: the agent's turn answers it
plan-first (a ``degraded`` final), the one place that decides degradation (:mod:`evorec.agent.turn`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from evorec.agent import AgentEvent, Recommendations, TurnCancelled
from evorec.errors import EvorecError
from evorec.serving.api.engines import Engines
from evorec.serving.api.metrics import ApiMetrics
from evorec.serving.wire.errors import error_body

log = logging.getLogger("evorec.api")


class StreamItem(BaseModel):
    """One SSE event: ``kind`` is token | tool_call | tool_result | final | error."""

    kind: str
    payload: dict[str, Any]
    answer: Recommendations | None = None
    text: str | None = None


def _item(ev: AgentEvent) -> StreamItem:
    return StreamItem(kind=ev.type, payload=ev.model_dump(mode="json", exclude_none=True),
                      answer=ev.recommendations if ev.type == "final" else None, text=ev.text)


def _error(status: int, message: str, kind: str) -> StreamItem:
    return StreamItem(kind="error", payload=error_body(status, message, kind))


def chat_turn(services: Engines, metrics: ApiMetrics, endpoint: str, session_id: str, user_id: str,
              message: str) -> Iterator[StreamItem]:
    agent = services.agent
    final_seen = False
    agent_error: AgentEvent | None = None
    try:
        for ev in agent.chat_stream(session_id, user_id, message):
            if ev.type == "error":  # the agent re-raises right after; the typed exception below answers it
                agent_error = ev
                continue
            if ev.type == "final" and ev.recommendations is not None:
                final_seen = True
                rec = ev.recommendations
                metrics.observe_answer(endpoint, rec.degraded, rec.llm_calls, rec.tool_calls)
            yield _item(ev)
        if agent_error is not None and not final_seen:
            yield _error(500, agent_error.text or "the turn failed", "agent_error")
    except TurnCancelled:
        log.info("turn cancelled (session %s): the client disconnected", session_id)
    except EvorecError as e:
        yield _error(e.http_status, str(e), type(e).__name__)
    except Exception:
        log.exception("chat stream failed (session %s)", session_id)
        yield _error(500, "internal error; the server log has the details", "internal_error")
