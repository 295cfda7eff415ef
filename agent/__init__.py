"""The orchestrator: LLM client, tool-calling loop, answer schema, grounding, plan-first executor.

This package's namespace is the agent's PUBLIC FACADE: serving (API, CLI) imports from ``evorec.agent``
only, never from a submodule (``tests/test_serving_facades.py`` fails on one). Names load on first use
(PEP 562), so importing one does not import the whole agent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evorec.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from evorec.agent.agent_service import AgentService
    from evorec.agent.answer_templates import describe_constraints
    from evorec.agent.cancel import TurnCancelled, cancel_scope, cancelled
    from evorec.agent.llm import ChatModel, OpenAIChatModel
    from evorec.agent.llm_tools import TOOLS
    from evorec.agent.recommendations import Rationale, Recommendations, RecommendedItem
    from evorec.agent.sessions import Session
    from evorec.agent.stream_events import AgentEvent
    from evorec.agent.turn_trace import TurnResult

# public name -> (module, attribute)
_EXPORTS: dict[str, tuple[str, str]] = {
    "AgentService": ("evorec.agent.agent_service", "AgentService"),
    "TurnResult": ("evorec.agent.turn_trace", "TurnResult"),
    "describe_constraints": ("evorec.agent.answer_templates", "describe_constraints"),
    "Recommendations": ("evorec.agent.recommendations", "Recommendations"),
    "RecommendedItem": ("evorec.agent.recommendations", "RecommendedItem"),
    "Rationale": ("evorec.agent.recommendations", "Rationale"),
    "AgentEvent": ("evorec.agent.stream_events", "AgentEvent"),
    "Session": ("evorec.agent.sessions", "Session"),
    "TurnCancelled": ("evorec.agent.cancel", "TurnCancelled"),
    "cancelled": ("evorec.agent.cancel", "cancelled"),
    "cancel_scope": ("evorec.agent.cancel", "cancel_scope"),
    "TOOLS": ("evorec.agent.llm_tools", "TOOLS"),
    "ChatModel": ("evorec.agent.llm", "ChatModel"),
    "OpenAIChatModel": ("evorec.agent.llm", "OpenAIChatModel"),
}

__all__ = ["TOOLS", "AgentEvent", "AgentService", "ChatModel", "OpenAIChatModel", "Rationale", "Recommendations",
           "RecommendedItem", "Session", "TurnCancelled", "TurnResult", "cancel_scope", "cancelled",
           "describe_constraints"]  # = the keys of _EXPORTS


__getattr__ = lazy_exports(__name__, _EXPORTS)
