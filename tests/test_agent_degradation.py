"""Degradation is decided in one place (``agent/turn.py``): whatever goes wrong with the LLM — a client error
nobody mapped, an outage mid-turn, an answer that never parses — the turn answers plan-first, marked
degraded with the reason, and never raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from evorec.agent import AgentService
from evorec.agent.scripted import ScriptedChatModel, answer, tool_calls
from evorec.errors import LLMUnavailableError
from evorec.evals.toolbox_double import ToolboxDouble
from evorec.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", llm="none")


@pytest.mark.parametrize(("steps", "reason"), [
    ([RuntimeError("socket closed")], "LLM call failed: RuntimeError: socket closed"),
    ([tool_calls(("rank_candidates", {"k": 3})), LLMUnavailableError("endpoint went away")], "endpoint went away"),
    ([tool_calls(("rank_candidates", {"k": 3})), answer("no json"), answer("still none")], "invalid after repair"),
])
def test_every_llm_failure_becomes_the_plan_first_answer(settings: Settings, steps: list, reason: str) -> None:
    llm = ScriptedChatModel(steps)
    res = AgentService(ToolboxDouble(), settings, llm=llm).chat_turn("s1", "42", "top 3 please")
    rec = res.recommendations
    assert rec.degraded and reason in (rec.degraded_reason or "")
    assert len(rec.items) == 3 and all(i.rationale.source == "template" for i in rec.items)
    assert rec.llm_calls == len(llm.requests) == len(res.trace.llm_calls)
    failed_call = "invalid after repair" not in reason  # an outage or client error: the last call is recorded failed
    assert res.trace.llm_calls[-1].ok is not failed_call and res.trace.repaired is not failed_call
    if len(llm.requests) > 1:  # the candidates the LLM turn settled are the ones the plan-first answer ships
        assert [i.item_id for i in rec.items] == res.trace.candidate_ids[:3]
