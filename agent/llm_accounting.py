"""Every LLM call of a turn goes through :func:`complete_recorded`: it checks for cancellation, records the
call's cost in the trace (latency, tokens, the server's time split) and turns any failure into
``LLMUnavailableError`` — which the turn answers with the plan-first executor (:mod:`evorec.agent.turn`)."""

from __future__ import annotations

import time
from typing import Any

from evorec.agent.cancel import TurnCancelled, raise_if_cancelled
from evorec.agent.llm import ChatModel, ChatReply
from evorec.agent.turn_trace import LLMCall, TurnTrace
from evorec.errors import LLMUnavailableError


def complete_recorded(llm: ChatModel, purpose: str, trace: TurnTrace, messages: list[dict[str, Any]],
                      **options: Any) -> ChatReply:
    """``llm.complete(messages, **options)``, recorded in ``trace.llm_calls`` under ``purpose``."""
    raise_if_cancelled()
    sink = options.get("on_token")
    if sink is not None:
        def checked(delta: str) -> None:  # a disconnected caller stops the stream at the next token
            raise_if_cancelled()
            sink(delta)
        options = {**options, "on_token": checked}
    t0 = time.perf_counter()
    try:
        reply = llm.complete(messages, **options)
    except TurnCancelled:
        raise
    except LLMUnavailableError:
        trace.llm_calls.append(LLMCall(purpose=purpose, latency_ms=(time.perf_counter() - t0) * 1000, ok=False))
        raise
    except Exception as e:  # a client library error we did not map: still degrade, never raise
        trace.llm_calls.append(LLMCall(purpose=purpose, latency_ms=(time.perf_counter() - t0) * 1000, ok=False))
        raise LLMUnavailableError(f"LLM call failed: {type(e).__name__}: {e}") from e
    trace.llm_calls.append(LLMCall(purpose=purpose, latency_ms=(time.perf_counter() - t0) * 1000, ok=True,
                                   prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
                                   cached_tokens=reply.cached_tokens, prefill_ms=reply.prefill_ms,
                                   generation_ms=reply.generation_ms))
    return reply
