"""Calling the agent with the serving guarantees: LLM trouble never becomes a 5xx.

The agent already degrades to its plan-first executor when the LLM fails; this layer is
the last line: an ``LLMUnavailableError`` that escapes is answered again without the LLM.
"""

from __future__ import annotations

import logging

from evorec.agent import Recommendations
from evorec.errors import LLMUnavailableError
from evorec.serving.api.engines import Engines
from evorec.tools import Constraints

log = logging.getLogger("evorec.api")


def recommend_with_fallback(services: Engines, user_id: str, constraints: Constraints, explain: bool = True,
                            use_llm: bool = True) -> Recommendations:
    try:
        return services.agent.recommend(user_id, constraints, explain=explain, use_llm=use_llm)
    except LLMUnavailableError as e:
        log.warning("LLM unavailable, answering plan-first: %s", e)
        return plan_first(services, user_id, constraints, e, explain=explain)


def plan_first(services: Engines, user_id: str, constraints: Constraints, cause: LLMUnavailableError,
               explain: bool = True) -> Recommendations:
    """The answer without the LLM, marked degraded with the reason (serving's one place for it: the routes and
    the chat stream both come here)."""
    answer = services.agent.recommend(user_id, constraints, explain=explain, use_llm=False)
    return answer.model_copy(update={"degraded": True, "degraded_reason": answer.degraded_reason or str(cause)})
