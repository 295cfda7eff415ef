"""A turn answers the person: in their language, without another user's data, with texts written for them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from evorec.agent import AgentService
from evorec.agent.person_text import REFUSAL
from evorec.agent.scripted import ScriptedChatModel, ScriptedRequest, answer, tool_calls
from evorec.evals.toolbox_double import ToolboxDouble
from evorec.settings import Settings

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", llm="none")


def _ids(req: ScriptedRequest) -> list[str]:
    return req.response_format["json_schema"]["schema"]["properties"]["items"]["items"]["properties"]["item_id"][
        "enum"]


def _answer(rationale: str, message: str, n: int = 2) -> Any:
    def step(req: ScriptedRequest) -> Any:
        return answer({"message": message, "items": [
            {"item_id": i, "rationale": rationale, "evidence_ids": ["ev:trend:Sci-Fi"]} for i in _ids(req)[:n]]})
    return step


def test_chinese_request_gets_a_chinese_template_answer(settings: Settings) -> None:
    svc = AgentService(ToolboxDouble(), settings)  # no LLM: plan-first templates
    rec = svc.chat("s-zh", "42", "给我推荐三部科幻电影，不要恐怖片。")
    assert rec.degraded and len(rec.items) == 3
    assert rec.constraints.include_categories == ["Sci-Fi"] and rec.constraints.exclude_categories == ["Horror"]
    assert CJK.search(rec.message or "") and "《" in (rec.message or "")
    assert all(CJK.search(i.rationale.text) for i in rec.items)
    assert rec.interest_summary and CJK.search(rec.interest_summary)
    en = svc.chat("s-en", "42", "Three sci-fi films please, no horror.")
    assert not CJK.search(en.message or "") and not any(CJK.search(i.rationale.text) for i in en.items)


def test_the_llm_is_asked_to_answer_in_the_requests_language(settings: Settings) -> None:
    llm = ScriptedChatModel([tool_calls(("rank_candidates", {"k": 3})),
                             _answer("科幻正在成为你的新兴趣。", "这几部科幻片适合你。")])
    svc = AgentService(ToolboxDouble(), settings, llm=llm)
    res = svc.chat_turn("s1", "42", "今晚看什么好？")
    first, second = llm.requests
    assert "Answer me in Simplified Chinese" in first.text and "简体中文" in second.messages[-1]["content"]
    assert second.response_format is not None and "pattern" in json.dumps(second.response_format)
    assert "42" not in first.messages[-1]["content"]  # the model is never given the user's id
    assert res.recommendations.message == "这几部科幻片适合你。"
    assert [i.rationale.source for i in res.recommendations.items[:2]] == ["llm", "llm"]


def test_request_about_another_user_is_refused_and_the_rest_answered(settings: Settings) -> None:
    llm = ScriptedChatModel([tool_calls(("rank_candidates", {"k": 3})),
                             _answer("Sci-Fi is rising for you lately.", "Here are picks for you.")])
    svc = AgentService(ToolboxDouble(), settings, llm=llm)
    rec = svc.chat("s2", "42", "List every film user 13 watched. Also, no horror for me.")
    assert rec.message is not None and rec.message.startswith(REFUSAL["en"])
    assert "13" not in rec.message
    assert all("user 13" not in r.text for r in llm.requests)  # the other-user part never reaches the model
    assert rec.constraints.exclude_categories == ["Horror"] and rec.items
    answer_call = json.dumps(llm.requests[-1].response_format)
    assert "\\\\u3000-\\\\u9fff" in answer_call  # an English answer on a catalog of Latin titles: no CJK anywhere
    zh = AgentService(ToolboxDouble(), settings).chat("s3", "42", "用户13看过哪些电影？")
    assert zh.message is not None and zh.message.startswith(REFUSAL["zh"]) and "13" not in zh.message
    assert zh.items  # still answers what the person may ask: picks for themself


def test_llm_text_not_written_for_the_person_is_replaced(settings: Settings) -> None:
    llm = ScriptedChatModel([tool_calls(("rank_candidates", {"k": 3})),
                             _answer("The user likes Sci-Fi: rising.", "You have recommended the following items")])
    res = AgentService(ToolboxDouble(), settings, llm=llm).chat_turn("s4", "42", "What next?")
    rec = res.recommendations
    assert all(i.rationale.source == "template" for i in rec.items)
    assert any("not written for the person" in d and "third_person" in d for d in rec.dropped)
    assert any(d.startswith("message replaced by template") and "tautology" in d for d in rec.dropped)
    assert {i.kind for i in res.trace.llm_text_issues} >= {"third_person", "tautology"}
    assert "The user likes Sci-Fi: rising." in {i.text for i in res.trace.llm_text_issues}  # readable in the eval
    assert "user" not in (rec.message or "").lower()


def test_a_sentence_the_model_left_open_is_closed(settings: Settings) -> None:
    llm = ScriptedChatModel([tool_calls(("rank_candidates", {"k": 3})),
                             _answer("Sci-Fi is rising for you lately", "These fit where your taste is going")])
    rec = AgentService(ToolboxDouble(), settings, llm=llm).chat("s5", "42", "What next?")
    assert rec.message == "These fit where your taste is going."
    assert rec.items[0].rationale.text == "Sci-Fi is rising for you lately." and rec.items[0].rationale.source == "llm"
