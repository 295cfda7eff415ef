"""One turn's state and its two shared steps: running a tool (traced, streamed) and settling the candidates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from evorec.agent.cancel import raise_if_cancelled
from evorec.agent.stream_events import AgentEvent, Emit
from evorec.agent.tool_calls import ToolOutcome, UserBoundTools
from evorec.agent.turn_trace import TurnTrace
from evorec.tools.constraints import Constraints
from evorec.tools.recommendation import RankedList
from evorec.tools.wording import CatalogWording


@dataclass
class TurnContext:
    """Who asks what, under which constraints; the tools bound to them; where the turn records and streams."""

    tools: UserBoundTools
    message: str
    constraints: Constraints
    trace: TurnTrace
    emit: Emit
    wording: CatalogWording

    @property
    def user_id(self) -> str:
        return self.tools.user_id

    def run_tool(self, name: str, args: str | dict[str, Any], by: Literal["llm", "plan"]) -> ToolOutcome:
        """Run one tool call, record it in the trace and stream its call and result."""
        raise_if_cancelled()
        shown = args if isinstance(args, dict) else {"raw": args}
        self.emit(AgentEvent(type="tool_call", tool=name, arguments=shown, issued_by=by))
        out = self.tools.call(name, args, issued_by=by)
        self.trace.tools.append(out)
        self.trace.evidence.update(out.evidence)
        self.trace.titles.update(out.titles)
        self.emit(AgentEvent(type="tool_result", tool=name, issued_by=out.issued_by, ok=out.ok,
                             summary=out.for_model()[:600], evidence_ids=list(out.evidence)[:20],
                             latency_ms=round(out.latency_ms, 1)))
        return out

    def candidates(self) -> RankedList:
        """The items the answer may recommend: what the turn's ranking tools returned, else a plan-issued
        ``rank_candidates`` call now."""
        ranked = merged_candidates(self.trace)
        if ranked is None:
            out = self.run_tool("rank_candidates", {"k": min(self.constraints.k, 50)}, "plan")
            if not out.ok or out.ranked is None:
                ranked = RankedList(user_id=self.user_id, items=[], constraints=self.constraints,
                                    shortfall=out.error or "ranking failed")
            else:
                ranked = out.ranked
        self.trace.candidate_ids = [i.item_id for i in ranked.items]
        return ranked


def merged_candidates(trace: TurnTrace) -> RankedList | None:
    """The union of every successful ranked list of the turn (rank_candidates, similar_items), the latest
    one's order first."""
    lists = [o.ranked for o in trace.tools if o.ok and o.ranked is not None]
    if not lists:
        return None
    base = lists[-1].model_copy(deep=True)
    seen = {i.item_id for i in base.items}
    known = {e.id for e in base.evidence}
    for other in lists[:-1]:
        base.evidence += [e for e in other.evidence if e.id not in known]
        known |= {e.id for e in other.evidence}
        for it in other.items:
            if it.item_id not in seen:
                seen.add(it.item_id)
                base.items.append(it)
    return base
