"""The agent over the REAL Toolbox (Chroma store, trends, ranking) on a small synthetic dataset.

Slow-ish (embeds the catalog and events once); the forecaster is not trained here, so ranking
runs without it, as the Toolbox documents. Plan-first and a scripted LLM turn both answer.
"""

from __future__ import annotations

import pytest

from evorec.agent import AgentService
from evorec.agent.grounding import Grounder
from evorec.agent.scripted import ScriptedChatModel, ScriptedRequest, answer, tool_calls
from evorec.settings import Settings
from evorec.tools.data.schema import Dataset

pytestmark = pytest.mark.slow


@pytest.fixture
def toolbox(tmp_settings: Settings, synthetic_dataset: Dataset):  # type: ignore[no-untyped-def]
    from evorec.tools.store.history import HistoryStore
    from evorec.tools.toolbox import Toolbox

    HistoryStore.open(tmp_settings, synthetic_dataset.name).ingest(synthetic_dataset, progress=False)
    tb = Toolbox.open(tmp_settings, data=synthetic_dataset)
    yield tb
    tb.close()


def _first_two(req: ScriptedRequest):  # type: ignore[no-untyped-def]
    props = req.response_format["json_schema"]["schema"]["properties"]["items"]["items"]["properties"]
    ids, evs = props["item_id"]["enum"][:2], props["evidence_ids"]["items"]["enum"]
    ev = next(e for e in evs if e == "ev:history")
    return answer({"items": [{"item_id": i, "rationale": "It fits your recent history.", "evidence_ids": [ev]}
                             for i in ids], "message": "Two picks.", "interest_summary": ""})


def test_agent_over_the_real_toolbox(toolbox, tmp_settings: Settings) -> None:  # type: ignore[no-untyped-def]
    user = toolbox.data.interactions["user_id"].iloc[0]
    cat = toolbox.categories[0]
    plan = AgentService(toolbox, tmp_settings).chat("s-plan", user, f"No {cat} please, top 5")
    assert plan.degraded and len(plan.items) == 5 and all(cat not in i.categories for i in plan.items)
    assert all(i.rationale.evidence_ids for i in plan.items)

    llm = ScriptedChatModel([tool_calls(("rank_candidates", {"k": 5}), ("search_items", {"query": "space"})),
                             _first_two])
    res = AgentService(toolbox, tmp_settings, llm=llm).chat_turn("s-llm", user, "What next?")
    rec, trace = res.recommendations, res.trace
    assert not rec.degraded and rec.llm_calls == 2
    assert [i.rationale.source for i in rec.items[:2]] == ["llm", "llm"]
    ranked = {i.item_id: i for t in trace.tools if t.ranked for i in t.ranked.items}
    g = Grounder(ranked, trace.evidence, trace.titles)
    for it in rec.items:  # templates from the real ranking engine pass the same check
        assert g.check_rationale(ranked[it.item_id], it.rationale.text, it.rationale.evidence_ids) == [], it
    assert "ev:history" in trace.evidence and any(e.startswith("ev:trend:") for e in trace.evidence)
