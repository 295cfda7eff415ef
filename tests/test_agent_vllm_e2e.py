"""Integration: the agent loop against the REAL vLLM server (CPU build here, the same code path on a GPU host).

The same packaged model as the llama.cpp tests, converted to HF safetensors by ``make llm``; the same
OpenAI-standard requests (``tool_choice: "required"`` for the tool call, ``response_format`` json_schema
for the answer). vLLM enforces both itself (xgrammar), so every call must be valid and no answer may
degrade for invalid JSON. The answer call starts with the tool call's prompt (system + tools + request),
so vLLM's prefix cache must serve part of it, which ``prompt_tokens_details.cached_tokens`` shows.

Slow (server start ~2-5 min on 2 CPU cores, then ~10-40 s a turn); skipped with a reason when vLLM or
the converted model is not installed (``make llm``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_agent_llm_e2e import (
    assert_preferences_remembered,
    assert_shipped_answer_is_true,
    check_injection_cannot_reach_another_user,
    describe,
)

from evorec.agent import AgentService
from evorec.agent.llm import OpenAIChatModel
from evorec.evals.toolbox_double import ToolboxDouble
from evorec.serving.llm.launcher import LLMEndpoint, warm_up
from evorec.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.vllm]
CALL_TIMEOUT_S = 300  # a slow call on a loaded CI box must not turn into a (legitimate) degraded answer


@pytest.fixture
def service(vllm_endpoint: LLMEndpoint, tmp_path: Path) -> AgentService:
    llm = OpenAIChatModel(vllm_endpoint.base_url, vllm_endpoint.model, timeout_s=CALL_TIMEOUT_S)
    # no turn budget: on a loaded CI box a repair round must still run rather than fall back
    svc = AgentService(ToolboxDouble(), Settings(home=tmp_path / "home"), llm=llm, llm_max_items=3,
                       turn_budget_s=None)
    # the service's own system prompt + tools (its catalog's categories, its filters), evaluated once up front
    assert warm_up(vllm_endpoint, *svc.llm_prefix()) > 300
    return svc


@pytest.mark.timeout(1800)
def test_turns_on_vllm_ship_grounded_answers_from_valid_calls_and_reuse_the_prefix(service: AgentService) -> None:
    results = [service.chat_turn("e2e-vllm", "42", msg) for msg in
               ["No horror please. What should I watch next, and why?", "Give me 3 picks from the 90s."]]
    for res in results:
        why = describe(res)
        assert_shipped_answer_is_true(res)
        rec, trace = res.recommendations, res.trace
        assert not rec.degraded, why  # vLLM's structured outputs: no invalid call, no invalid JSON
        llm_tools = [t for t in trace.tools if t.issued_by == "llm"]
        assert llm_tools and all(t.valid for t in llm_tools), why
        assert all("Horror" not in i.categories for i in rec.items), why
        tools_call, answer_call = trace.llm_calls[0], trace.llm_calls[1]
        assert (tools_call.purpose, answer_call.purpose) == ("tools", "answer"), why
        # prefix caching + --enable-prompt-tokens-details: the shared system+tools prefix came from the cache
        assert answer_call.cached_tokens and answer_call.cached_tokens >= 300, why
        assert tools_call.cached_tokens and tools_call.cached_tokens >= 300, why  # warmed up front
    assert_preferences_remembered(results[-1])


@pytest.mark.timeout(900)
def test_injection_in_message_cannot_reach_another_user_on_vllm(service: AgentService) -> None:
    check_injection_cannot_reach_another_user(service, "e2e-vllm-inj")
