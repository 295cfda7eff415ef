"""evorec's tools as LangChain tools bound to one user: schemas, scoping, evidence as the artifact; and (slow,
real local LLM) LangGraph's prebuilt ReAct agent driving them."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from evorec.agent.llm_tools import LLM_TOOLS, TOOLS
from evorec.agent.tool_calls import ToolOutcome
from evorec.evals.toolbox_double import ToolboxDouble
from evorec.integrations.langchain import user_tools
from evorec.tools.constraints import Constraints


def _call(tool: Any, args: dict[str, Any]) -> ToolMessage:
    msg = tool.invoke({"type": "tool_call", "id": "c1", "name": tool.name, "args": args})
    assert isinstance(msg, ToolMessage)
    return msg


def test_tools_mirror_the_agents_own_and_carry_the_evidence() -> None:
    tb = ToolboxDouble()
    tools = {t.name: t for t in user_tools(tb, "42", Constraints(k=3, exclude_categories=["Horror"]))}
    assert list(tools) == list(LLM_TOOLS)
    for name, t in tools.items():
        assert t.description == TOOLS[name].description
        assert t.args_schema is TOOLS[name].args
    msg = _call(tools["rank_candidates"], {"k": 3})
    out = msg.artifact
    assert isinstance(out, ToolOutcome) and out.ok and out.ranked is not None
    assert len(out.ranked.items) == 3 and all("Horror" not in i.categories for i in out.ranked.items)
    assert msg.content == out.for_model() and "(only these ids may be recommended)" in msg.content
    cited = {e for i in out.ranked.items for e in i.evidence_ids}
    assert cited and cited <= set(out.evidence)  # every id the model sees comes with its evidence record
    like = _call(tools["similar_items"], {"item": "Star Voyage", "k": 2}).artifact
    assert [i.title for i in like.ranked.items] == ["Nebula Run", "Red Harbor"]


def test_tools_act_for_the_bound_user_only() -> None:
    tb = ToolboxDouble()
    tools = {t.name: t for t in user_tools(tb, "42")}
    refused = _call(tools["get_user_history"], {"user_id": "7"})
    assert str(refused.content).startswith("ERROR: invalid arguments for get_user_history")
    history = _call(tools["get_user_history"], {"limit": 3})
    assert "Secret Garden" not in str(history.content) and history.artifact.titles
    assert {uid for _, uid in tb.calls if uid is not None} == {"42"}
    with pytest.raises(ValueError, match="unknown evorec tools"):
        user_tools(tb, "42", names=["delete_everything"])


@pytest.mark.slow
@pytest.mark.llm
def test_langgraph_prebuilt_agent_uses_the_tools_with_the_local_llm(llm_endpoint: Any) -> None:
    import warnings

    from langchain_openai import ChatOpenAI
    from langgraph.prebuilt import create_react_agent

    tb = ToolboxDouble()
    model = ChatOpenAI(base_url=llm_endpoint.base_url, api_key="not-needed", model=llm_endpoint.model,
                       temperature=0, max_tokens=200, timeout=300, max_retries=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # LangGraph points new code at langchain.agents
        agent = create_react_agent(model, user_tools(tb, "42", names=["rank_candidates", "search_items"]))
    state = agent.invoke({"messages": [("user", "Recommend three films for me.")]}, {"recursion_limit": 6})
    tool_msgs = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert tool_msgs, [m.content for m in state["messages"]]
    assert all(isinstance(m.artifact, ToolOutcome) for m in tool_msgs if not str(m.content).startswith("ERROR"))
    assert any(m.name == "rank_candidates" and m.artifact is not None and m.artifact.ok for m in tool_msgs)
    assert {uid for _, uid in tb.calls if uid is not None} == {"42"}
    assert state["messages"][-1].content  # the model answered after reading the tool results
