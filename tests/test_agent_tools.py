"""The tool registry (one module per tool, found by scanning the package), the ``similar_items`` tool (its module
composes the toolbox's primitives), and a tool added as one new module with no other file edited; driven by the
scripted model over the test double."""

from __future__ import annotations

import json
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import evorec.prompts
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
    assert {uid for _, uid in tb.calls if uid is not None} == {"42"}  # the only per-user call: what 42 has seen
    assert [name for name, _ in tb.calls] == ["find_item", "get_user_history", "item_neighbours"]
    refused = kit.call("similar_items", {"item": "Orbit", "user_id": "7"})
    assert not refused.valid and "session's user only" in (refused.error or "")
    missing = kit.call("similar_items", {"item": "No Such Film"})
    assert missing.ok and missing.ranked is None  # no empty candidate list: the turn falls back to the ranking
    assert "No catalog item matches" in missing.summary


def test_similar_items_reasons_are_written_for_the_person() -> None:
    """Its evidence texts are the items' template rationales: no similarity figures or counts (they stay in
    ``numbers``), the catalog's own verb, complete sentences that pass the person check."""
    from evorec.agent.person_check import check_text

    out = UserBoundTools(ToolboxDouble(), "42", Constraints(k=10)).call("similar_items", {"item": "Star Voyage"})
    assert out.ranked is not None and out.ranked.items
    for item in out.ranked.items:
        text = item.template_rationale
        assert check_text(text, f"rationale:{item.item_id}", "en", [i.title for i in out.ranked.items]) == [], text
        assert not any(ch.isdigit() for ch in text.replace(item.title, "").replace("Star Voyage", "")), text
        assert "Star Voyage" in text
    like = out.evidence[out.ranked.items[0].evidence_ids[0]]
    assert set(like.numbers) == {"similarity", "co_occurrences"}
    for item in out.ranked.items:  # a Chinese request gets them in Chinese, naming the same two titles
        zh = item.template_rationales["zh"]
        assert f"《{item.title}》" in zh and "《Star Voyage》" in zh, zh
        assert check_text(zh, f"rationale:{item.item_id}", "zh", [i.title for i in out.ranked.items]) == [], zh


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


def test_similar_items_for_an_item_the_person_never_named_falls_back_to_the_ranking(settings: Settings) -> None:
    """"Give me 5 picks" is not a request for items like one of the history's titles (a small model's habit):
    the tool answers with no candidates and the turn's candidates come from rank_candidates. Items the person
    did name, this turn or earlier in the session, still work."""
    def pick_first(req: ScriptedRequest) -> Any:
        ids = req.response_format["json_schema"]["schema"]["properties"]["items"]["items"]["properties"][
            "item_id"]["enum"][:1]
        return answer({"message": "One pick.", "items": [
            {"item_id": i, "rationale": "It fits.", "evidence_ids": []} for i in ids]})

    kit = UserBoundTools(ToolboxDouble(), "42", Constraints(k=3), said="Give me 5 picks.")
    out = kit.call("similar_items", {"item": "Star Voyage"})
    assert out.valid and out.ok and out.ranked is None and "did not name" in out.summary
    named = UserBoundTools(ToolboxDouble(), "42", Constraints(k=3), said="Anything like star voyage?")
    assert named.call("similar_items", {"item": "Star Voyage"}).ranked is not None
    llm = ScriptedChatModel([tool_calls(("similar_items", {"item": "Star Voyage"})), pick_first])
    res = AgentService(ToolboxDouble(), settings, llm=llm).chat_turn("s2", "42", "Give me 5 picks.")
    ran = [(t.name, t.issued_by) for t in res.trace.tools]
    assert ("similar_items", "llm") in ran and ran[-1] == ("rank_candidates", "plan"), ran
    assert res.recommendations.items and not res.recommendations.degraded
    service = AgentService(ToolboxDouble(), settings, llm=ScriptedChatModel([
        tool_calls(("rank_candidates", {})), pick_first,
        tool_calls(("similar_items", {"item": "Star Voyage"})), pick_first]))
    service.chat_turn("s3", "42", "Something like Star Voyage, please.")
    later = service.chat_turn("s3", "42", "And a few more?")  # named in an earlier turn of the session
    assert later.trace.tools[-1].name == "similar_items" and later.trace.tools[-1].ranked is not None


NEW_TOOL = '''"""``more_like_last``: items like the last one the person picked (a tool added as one file)."""

from __future__ import annotations

from pydantic import Field

from evorec.agent.llm_tool import LLMTool, ToolArgs, ToolContext, ToolOutput


class Args(ToolArgs):
    k: int = Field(3, ge=1, le=10, description="How many items.")


def run(ctx: ToolContext, a: Args) -> ToolOutput:
    history = ctx.toolbox.get_user_history(ctx.user_id, limit=1)
    if not history.events:
        return ToolOutput(summary="No history yet.", cold_start=True)
    found = ctx.toolbox.item_neighbours(history.events[-1].item_id, k=a.k)
    lines = [f"- {n.title} [{found.like_evidence(n).id}]" for n in found.neighbours]
    return ToolOutput(summary=f"Like {found.anchor.title}:\\n" + "\\n".join(lines), evidence=found.evidence,
                      titles={n.item_id: n.title for n in found.neighbours})


TOOL = LLMTool(name="more_like_last", args=Args, run=run, offered_at=5,
               description_text="Items like the last one the user picked.")
'''

DRIVER = '''import importlib.util, json, sys
from pathlib import Path

pkg = Path(sys.argv[1])  # the package, copied, plus one new module: it stands in for agent/llm_tools/
spec = importlib.util.spec_from_file_location("evorec.agent.llm_tools", pkg / "__init__.py",
                                              submodule_search_locations=[str(pkg)])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)

from evorec.agent import AgentService
from evorec.agent.llm_tools import LLM_TOOLS, TOOLS
from evorec.agent.scripted import ScriptedChatModel, answer, tool_calls
from evorec.evals.toolbox_double import ToolboxDouble
from evorec.integrations.langchain import user_tools
from evorec.settings import Settings

tb = ToolboxDouble()
llm = ScriptedChatModel([tool_calls(("more_like_last", {"k": 2})), answer({"message": "Here.", "items": []})])
res = AgentService(tb, Settings(home=Path(sys.argv[2]), llm="none"), llm=llm).chat_turn("s1", "42", "More like that?")
lc = {t.name: t for t in user_tools(tb, "42")}["more_like_last"]
msg = lc.invoke({"type": "tool_call", "id": "c1", "name": "more_like_last", "args": {"k": 1}})
offered = {t["function"]["name"]: t["function"]["description"] for t in llm.requests[0].tools}
print(json.dumps({"registered": sorted(TOOLS), "llm_tools": list(LLM_TOOLS), "offered": offered,
                  "ran": [[o.name, o.ok, o.issued_by, o.summary, sorted(o.evidence)] for o in res.trace.tools],
                  "answer_prompt": llm.requests[1].text, "langchain": [str(msg.content), msg.artifact.ok]}))
'''


def test_a_new_tool_is_one_new_module_and_nothing_else(tmp_path: Path) -> None:
    """Copy the tool package, add ONE module, edit nothing else: the new tool is registered, offered to the model
    with its description, runs for the session's user on the toolbox's primitives when the model calls it, its
    result reaches the answer call, and the LangChain integration exposes it too."""
    pkg = tmp_path / "llm_tools"
    shutil.copytree(Path(llm_tools.__file__).parent, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "more_like_last.py").write_text(NEW_TOOL)
    (tmp_path / "driver.py").write_text(DRIVER)
    proc = subprocess.run([sys.executable, str(tmp_path / "driver.py"), str(pkg), str(tmp_path / "home")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["registered"] == sorted([*TOOLS, "more_like_last"])
    assert out["llm_tools"] == [*LLM_TOOLS, "more_like_last"]
    assert out["offered"]["more_like_last"] == "Items like the last one the user picked."
    name, ok, issued_by, summary, evidence = out["ran"][len(PRE_RUN)]
    assert (name, ok, issued_by) == ("more_like_last", True, "llm"), out["ran"]
    # user 42's last pick is Mars Hotel (Sci-Fi, Comedy); Star Voyage and Laser Moon share Sci-Fi and 42's history
    assert summary == "Like Mars Hotel:\n- Star Voyage [ev:like:i20:i1]\n- Laser Moon [ev:like:i20:i2]"
    assert evidence == ["ev:item:i20", "ev:like:i20:i1", "ev:like:i20:i2"]
    assert "Laser Moon [ev:like:i20:i2]" in out["answer_prompt"]  # the tool's result is what the answer call reads
    assert out["langchain"] == ["Like Mars Hotel:\n- Star Voyage [ev:like:i20:i1]", True]
    assert not (Path(evorec.prompts.__file__).parent / "tool_more_like_last.md").exists()  # no prompt file added
