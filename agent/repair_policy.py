"""When the LLM's answer gets a repair round: it must parse, and one more answer-sized call must still end
the turn within its latency budget."""

from __future__ import annotations

import time

from evorec.agent.grounding import FinalAnswer, Grounder, Review, parse_answer, review
from evorec.agent.turn_trace import TurnTrace


def read_answer(content: str | None, g: Grounder, trace: TurnTrace
                ) -> tuple[FinalAnswer | None, Review | None, str | None]:
    """(answer, the validator's review, None), or (None, None, why it does not parse)."""
    try:
        ans = parse_answer(content)
    except ValueError as e:
        return None, None, f"- the answer was not valid JSON for the schema: {e}"
    trace.proposed_item_ids = [i.item_id for i in ans.items]
    return ans, review(ans, g), None


def needs_repair(problem: str | None, rev: Review | None) -> bool:
    return problem is not None or (rev is not None and not rev.clean)


def repair_fits(trace: TurnTrace, turn_budget_s: float | None) -> bool:
    """Would one more answer-sized LLM call still end the turn within ``turn_budget_s`` (None: always)?"""
    if turn_budget_s is None:
        return True
    elapsed = time.perf_counter() - trace.started_at
    last = trace.llm_calls[-1].latency_ms / 1000 if trace.llm_calls else 0.0
    return elapsed + last <= turn_budget_s
