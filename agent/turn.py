"""One turn: the pre-run tools, then the LLM path or the plan-first executor — and the ONE place that
decides degradation. No LLM configured, the LLM disabled for the request, the LLM failing (unreachable,
timeout, an error: ``LLMUnavailableError``) or its answer unusable even after repair (:class:`AnswerUnusable`):
each becomes the plan-first answer, ``degraded=True`` with the reason. Nothing else falls back."""

from __future__ import annotations

import time

from evorec.agent.answer_templates import DEFAULT_QUESTIONS
from evorec.agent.llm_answer import AnswerUnusable, LLMTurnOptions, llm_answer
from evorec.agent.llm_tools import PRE_RUN, TOOLS
from evorec.agent.person_text import detect_language, refusal
from evorec.agent.plan_first import plan_first
from evorec.agent.preferences import PreferenceUpdate
from evorec.agent.recommendations import Recommendations
from evorec.agent.stream_events import AgentEvent, Emit
from evorec.agent.tool_calls import UserBoundTools
from evorec.agent.turn_context import TurnContext
from evorec.agent.turn_trace import TurnResult, TurnTrace
from evorec.errors import LLMUnavailableError
from evorec.tools.constraints import Constraints
from evorec.tools.protocol import ToolboxProtocol
from evorec.tools.wording import CatalogWording, Lang


def run_turn(toolbox: ToolboxProtocol, user_id: str, message: str, constraints: Constraints, *,
             llm: LLMTurnOptions | None, no_llm_reason: str, wording: CatalogWording,
             history: list[dict[str, str]] | None = None, emit: Emit | None = None,
             prefs: PreferenceUpdate | None = None, lang: Lang | None = None,
             refuse_other: bool = False) -> TurnResult:
    """One turn for ``user_id``. ``llm=None``: plan-first, saying ``no_llm_reason``. ``lang``: the language to
    answer in (default: the message's); ``refuse_other``: the request also asked about another user; the
    answer starts with the refusal."""
    t0 = time.perf_counter()
    emit = emit or (lambda ev: None)
    trace = TurnTrace(preferences=prefs, lang=lang or detect_language(message), other_user=refuse_other)
    message = message.strip() or DEFAULT_QUESTIONS[trace.lang]
    if refuse_other:
        emit(AgentEvent(type="token", text=refusal(trace.lang) + " "))
    said = "\n".join([*(m.get("content") or "" for m in history or [] if m.get("role") == "user"), message])
    turn = TurnContext(UserBoundTools(toolbox, user_id, constraints, said), message, constraints, trace, emit,
                       wording)
    for name in PRE_RUN:
        pre = TOOLS[name].pre_run
        turn.run_tool(name, dict(pre.arguments) if pre else {}, "plan")
    rec = _answer(turn, llm, no_llm_reason, history or [])
    if refuse_other:
        rec.message = f"{refusal(trace.lang)} {rec.message or ''}".strip()
    rec.llm_calls = len(trace.llm_calls)
    rec.tool_calls = [o.name for o in trace.tools]
    rec.timings_ms.update({f"llm_{i + 1}_{c.purpose}": round(c.latency_ms, 1)
                           for i, c in enumerate(trace.llm_calls)})
    rec.timings_ms["tools"] = round(sum(o.latency_ms for o in trace.tools), 1)
    rec.timings_ms["total"] = round((time.perf_counter() - t0) * 1000, 1)
    return TurnResult(recommendations=rec, trace=trace)


def _answer(turn: TurnContext, llm: LLMTurnOptions | None, no_llm_reason: str,
            history: list[dict[str, str]]) -> Recommendations:
    if llm is None:
        return plan_first(turn, no_llm_reason)
    try:
        return llm_answer(turn, llm, history)
    except AnswerUnusable as e:
        return plan_first(turn, str(e), reuse=e.ranked)
    except LLMUnavailableError as e:
        return plan_first(turn, str(e))
