"""The tool registry (one module per tool, found by scanning the package) and the ``similar_items`` tool
added through it, driven by the scripted model over the test double."""

from __future__ import annotations

import pkgutil
from pathlib import Path
from typing import Any

import pytest

from evorec.agent import AgentService, llm_tools
from evorec.agent.llm_tools import LLM_TOOLS, PRE_RUN, TOOLS
from evorec.agent.scripted import ScriptedChatModel, ScriptedRequest, answer, tool_calls
from evorec.agent.tool_calls import UserBoundTools, tool_specs
from evorec.evals.toolbox_double import ToolboxDouble
from evorec.prompts import load_prompt
from evorec.settings import Settings
from evorec.tools.constraints import Constraints


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", llm="none")


def test_every_module_of_the_package_is_one_tool_with_a_prompt() -> None:
    modules = sorted(m.name for m in pkgutil.iter_modules(llm_tools.__path__))
    assert sorted(TOOLS) == modules and "similar_items" in TOOLS
    for name, tool in TOOLS.items():
        assert tool.description == load_prompt(f"tool_{name}").strip() and tool.description
        assert not any("user" in f for f in tool.args.model_fields), name  # the user is injected, never an argument
    assert PRE_RUN == ("get_user_history", "forecast_interests", "detect_trends")
    assert LLM_TOOLS == ("rank_candidates", "search_items", "get_user_history", "get_item", "similar_items")
    assert [s["function"]["name"] for s in tool_specs(LLM_TOOLS)] == list(LLM_TOOLS)


def test_similar_items_tool_is_bound_to_the_session_user_and_constraints() -> None:
    tb = ToolboxDouble()
    kit = UserBoundTools(tb, "42", Constraints(k=10, exclude_categories=["Comedy"]))
    out = kit.call("similar_items", {"item": "star voyage", "k": 3})
    assert out.ok and out.ranked is not None, out.error
    assert [i.title for i in out.ranked.items] == ["Nebula Run", "Red Harbor", "Deep Signal"]
    assert "Deep Signal" in out.summary and "ev:like:i1:i4" in out.summary
    assert out.arguments["effective_constraints"] == {"k": 3, "exclude_categories": ["Comedy"]}
    assert "ev:item:i1" in out.evidence and out.evidence["ev:like:i1:i4"].item_id == "i4"
    assert {uid for _, uid in tb.calls} == {"42"}
    refused = kit.call("similar_items", {"item": "Orbit", "user_id": "7"})
    assert not refused.valid and "session's user only" in (refused.error or "")
    missing = kit.call("similar_items", {"item": "No Such Film"})
    assert missing.ok and missing.ranked is not None and not missing.ranked.items
    assert "no catalog item matches" in missing.summary


def test_the_model_recommends_from_similar_items(settings: Settings) -> None:
    def pick_like(req: ScriptedRequest) -> Any:
        props = req.response_format["json_schema"]["schema"]["properties"]["items"]["items"]["properties"]
        ids = props["item_id"]["enum"][:2]
        return answer({"message": "Two films like Star Voyage.", "items": [
            {"item_id": i, "rationale": "It shares categories with Star Voyage.",
             "evidence_ids": [f"ev:like:i1:{i}"]} for i in ids]})

    llm = ScriptedChatModel([tool_calls(("similar_items", {"item": "Star Voyage", "k": 4})), pick_like])
    res = AgentService(ToolboxDouble(), settings, llm=llm).chat_turn("s1", "42", "Something like Star Voyage?")
    rec = res.recommendations
    assert not rec.degraded and [t.name for t in res.trace.tools][-1] == "similar_items"
    assert [i.title for i in rec.items[:2]] == ["Nebula Run", "Red Harbor"]
    assert [i.rationale.source for i in rec.items[:2]] == ["llm", "llm"], rec.dropped
    assert all(e.kind == "like" for e in rec.items[0].evidence if e.id.startswith("ev:like:"))
