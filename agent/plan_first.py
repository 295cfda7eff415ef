"""The plan-first executor: the answer without the LLM — history → forecast → trends → rank → template
rationales, marked ``degraded`` with the reason. :mod:`evorec.agent.turn` decides when it answers."""

from __future__ import annotations

from evorec.agent.answer_templates import template_item, template_message, template_summary
from evorec.agent.recommendations import Recommendations
from evorec.agent.stream_events import AgentEvent
from evorec.agent.turn_context import TurnContext
from evorec.tools.recommendation import RankedList


def plan_first(turn: TurnContext, reason: str, reuse: RankedList | None = None) -> Recommendations:
    """The pre-run tools already ran; ``reuse``: candidates the turn already settled."""
    ranked = reuse or turn.candidates()
    c, lang = turn.constraints, turn.trace.lang
    items = [template_item(i + 1, it, ranked, lang) for i, it in enumerate(ranked.items[: c.k])]
    summary = template_summary(turn.trace, turn.wording)
    msg = template_message(items, c, ranked, lang, turn.wording)
    turn.emit(AgentEvent(type="token", text=msg))
    return Recommendations(user_id=turn.user_id, items=items, interest_summary=summary or None,
                           interest_summary_source="template" if summary else None, message=msg,
                           constraints=c, cold_start=ranked.cold_start, degraded=True, degraded_reason=reason,
                           shortfall=ranked.shortfall, timings_ms=dict(ranked.timings_ms))
