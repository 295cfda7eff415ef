"""Unit tests: request planning and streaming of the local server, vLLM command construction, launcher helpers."""

from __future__ import annotations

import json

import pytest

from evorec.errors import InvalidRequestError, LLMUnavailableError
from evorec.serving.llm.launcher import LLMEndpoint, health_url, local_llm, normalize_base_url
from evorec.serving.llm.model_package import MODELS, assemble, get_model
from evorec.serving.llm.request_plan import RequestError, plan_request
from evorec.serving.llm.stream_splitter import StreamSplitter
from evorec.serving.llm.vllm import VLLMConfig, build_vllm_command, parser_for
from evorec.serving.wire.openai_types import ChatCompletionRequest as ChatRequest
from evorec.settings import Settings

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_user_history",
            "parameters": {"type": "object", "properties": {"user_id": {"type": "integer"}}, "required": ["user_id"]},
        },
    }
]
USER = [{"role": "user", "content": "hi"}]


def test_plan_free_with_tools() -> None:
    plan = plan_request(ChatRequest(messages=USER, tools=TOOLS))
    assert plan.mode == "free" and plan.tool_names == {"get_user_history"}
    assert "<tools>" in plan.prompt and plan.prompt.endswith("<|im_start|>assistant\n")


def test_plan_tool_choice_none_keeps_prefix_but_parses_no_calls() -> None:
    auto = plan_request(ChatRequest(messages=USER, tools=TOOLS))
    none = plan_request(ChatRequest(messages=USER, tools=TOOLS, tool_choice="none"))
    assert none.prompt == auto.prompt and none.tool_names == set()


def test_plan_forced_tool_call_uses_grammar_and_prefills_the_tag() -> None:
    plan = plan_request(
        ChatRequest(
            messages=USER, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_user_history"}}
        )
    )
    assert plan.mode == "forced_call" and plan.prompt.endswith("<|im_start|>assistant\n<tool_call>\n")
    schema = json.loads(plan.grammar_schema or "{}")
    assert schema["properties"]["name"] == {"const": "get_user_history"}
    assert plan_request(ChatRequest(messages=USER, tools=TOOLS, tool_choice="required")).mode == "forced_call"


def test_parallel_tool_calls_false_allows_one_call() -> None:
    """OpenAI's ``parallel_tool_calls: false`` -> the call grammar admits exactly one ``<tool_call>`` block."""
    from evorec.serving.llm.chat_format import multi_call_gbnf

    one = plan_request(ChatRequest.model_validate(
        {"messages": USER, "tools": TOOLS, "tool_choice": "required", "parallel_tool_calls": False}))
    assert one.max_calls == 1
    assert plan_request(ChatRequest(messages=USER, tools=TOOLS, tool_choice="required")).max_calls == 4
    call = 'root ::= "{" space "}"\nspace ::= " "?'
    assert "</tool_call>\\n<tool_call>" not in multi_call_gbnf(call, one.max_calls)
    assert "</tool_call>\\n<tool_call>" in multi_call_gbnf(call, 4)


def test_plan_response_formats() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    rf = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    plan = plan_request(ChatRequest(messages=USER, response_format=rf))
    assert plan.mode == "json" and json.loads(plan.grammar_schema or "") == schema
    plan = plan_request(ChatRequest(messages=USER, response_format={"type": "json_object"}))
    assert plan.mode == "json" and plan.grammar_schema is None
    plan = plan_request(ChatRequest(messages=USER, response_format={"type": "json_object", "schema": schema}))
    assert plan.mode == "json" and json.loads(plan.grammar_schema or "") == schema
    assert plan_request(ChatRequest(messages=USER, response_format={"type": "text"})).mode == "free"


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"n": 2}, "n"),
        ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "other"}}}, "tool_choice"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "response_format"),
        ({"response_format": {"type": "xml"}}, "response_format"),
    ],
)
def test_plan_rejects_bad_requests(kwargs: dict, param: str) -> None:
    with pytest.raises(RequestError) as e:
        plan_request(ChatRequest(messages=USER, **kwargs))
    assert e.value.param == param


def test_request_rejects_unknown_role() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="role"):
        ChatRequest(messages=[{"role": "oracle", "content": "x"}])


def test_request_accepts_content_null_and_unknown_fields() -> None:
    req = ChatRequest.model_validate(
        {"model": "local", "messages": [*USER, {"role": "assistant", "content": None}], "logprobs": False, "user": "u"}
    )
    assert plan_request(req).mode == "free"


def test_stream_splitter_holds_back_tool_calls() -> None:
    s = StreamSplitter()
    pieces = ["Sure", ", let me check. <", "tool_", 'call>\n{"name": "x", "arguments": {}}', "\n</tool_call>"]
    emitted = "".join(s.feed(p) for p in pieces) + s.flush()
    assert emitted == "Sure, let me check. "
    assert s.text.endswith("</tool_call>")


def test_stream_splitter_releases_a_false_alarm() -> None:
    s = StreamSplitter()
    out = s.feed("a <to") + s.feed("p> b") + s.flush()
    assert out == "a <top> b"


def test_vllm_parser_table() -> None:
    assert parser_for("Qwen/Qwen2.5-7B-Instruct").tool_call_parser == "hermes"
    q3 = parser_for("Qwen/Qwen3-8B")
    assert (q3.tool_call_parser, q3.reasoning_parser) == ("hermes", "qwen3")
    assert parser_for("Qwen/Qwen3-Coder-30B-A3B-Instruct").tool_call_parser == "qwen3_coder"
    assert parser_for("meta-llama/Llama-3.1-8B-Instruct").tool_call_parser == "llama3_json"
    assert parser_for("meta-llama/Llama-4-Scout-17B-16E-Instruct").tool_call_parser == "llama4_pythonic"
    assert parser_for("mistralai/Mistral-7B-Instruct-v0.3").tool_call_parser == "mistral"
    assert parser_for("NousResearch/Hermes-3-Llama-3.1-8B").tool_call_parser == "hermes"
    with pytest.raises(InvalidRequestError, match="tool-call-parser"):
        parser_for("acme/unknown-model")


def test_build_vllm_command() -> None:
    cfg = VLLMConfig(model="Qwen/Qwen2.5-7B-Instruct", port=8001, tensor_parallel_size=2, max_model_len=16384)
    cmd = build_vllm_command(cfg, "/venv/bin/python", device="cuda")
    assert cmd[:5] == ["/venv/bin/python", "-m", "vllm.entrypoints.openai.api_server", "--model",
                       "Qwen/Qwen2.5-7B-Instruct"]
    joined = " ".join(cmd)
    assert "--enable-auto-tool-choice --tool-call-parser hermes" in joined
    assert "--port 8001" in joined and "--host 127.0.0.1" in joined
    assert "--tensor-parallel-size 2" in joined and "--max-model-len 16384" in joined
    assert "--reasoning-parser" not in joined and "--enable-prefix-caching" in joined
    assert cfg.base_url == "http://127.0.0.1:8001/v1" and cfg.model_name == "Qwen/Qwen2.5-7B-Instruct"
    mistral = build_vllm_command(VLLMConfig(model="mistralai/Mistral-7B-Instruct-v0.3"))
    assert mistral[-2:] == ["--tokenizer-mode", "mistral"]
    override = VLLMConfig(model="acme/custom", tool_call_parser="pythonic", served_model_name="m")
    assert "--tool-call-parser pythonic" in " ".join(build_vllm_command(override))
    assert override.model_name == "m"


def test_vllm_config_rejects_unknown_family_without_parser() -> None:
    with pytest.raises(InvalidRequestError):
        VLLMConfig(model="acme/custom")


def test_url_helpers() -> None:
    assert normalize_base_url("http://h:1") == "http://h:1/v1"
    assert normalize_base_url("http://h:1/v1/") == "http://h:1/v1"
    assert normalize_base_url("http://h:1/openai/v1") == "http://h:1/openai/v1"
    assert health_url("http://h:1/v1") == "http://h:1/health"


def test_local_llm_prefers_configured_url_and_honours_none(tmp_path) -> None:
    s = Settings(home=tmp_path, llm_url="http://127.0.0.1:9", llm_model="m")
    with local_llm(s) as ep:
        assert ep == LLMEndpoint("http://127.0.0.1:9/v1", "m")
        _base_url, model = ep
        assert model == "m"
    with local_llm(Settings(home=tmp_path, llm="none", llm_url="http://x:1")) as ep:
        assert ep is None
    with pytest.raises(LLMUnavailableError), local_llm(Settings(home=tmp_path, llm="endpoint")):
        pass


def test_unknown_packaged_model_and_missing_parts(tmp_path) -> None:
    with pytest.raises(LLMUnavailableError, match="unknown packaged model"):
        get_model("gpt-17")
    fake = MODELS["qwen2.5-coder-0.5b"].model_copy(update={"module_prefix": "evorec_no_such_part", "key": "fake"})
    with pytest.raises(LLMUnavailableError, match="make llm"):
        assemble(fake, tmp_path)


def test_build_message_forced_multi_call_and_json() -> None:
    from evorec.serving.llm.request_plan import build_message

    two = [*TOOLS, {"type": "function", "function": {"name": "detect_trends", "parameters": {"type": "object"}}}]
    plan = plan_request(ChatRequest(messages=USER, tools=two, tool_choice="required"))
    text = (
        '{"name": "get_user_history", "arguments": {"user_id": 1}}\n</tool_call>\n<tool_call>\n'
        '{"name": "detect_trends", "arguments": {}}\n</tool_call>'
    )
    msg, finish = build_message(plan, text)
    assert finish == "tool_calls" and msg.content is None
    assert [c.function.name for c in msg.tool_calls or []] == ["get_user_history", "detect_trends"]
    assert msg.model_dump()["content"] is None  # OpenAI sends content: null beside tool calls
    json_plan = plan_request(ChatRequest(messages=USER, response_format={"type": "json_object"}))
    msg, finish = build_message(json_plan, ' {"a": 1} ')
    assert (msg.model_dump(), finish) == ({"role": "assistant", "content": '{"a": 1}'}, "stop")
    free = plan_request(ChatRequest(messages=USER, tools=TOOLS, tool_choice="none"))
    msg, finish = build_message(free, 'Hi <tool_call>\n{"name": "get_user_history", "arguments": {}}\n</tool_call>')
    assert finish == "stop" and "tool_calls" not in msg.model_dump() and msg.content == "Hi"


def _write_parts(root, prefix: str, chunks: list[bytes]) -> None:
    for i, data in enumerate(chunks, start=1):
        pkg = root / f"{prefix}{i}"
        (pkg / "data").mkdir(parents=True, exist_ok=True)
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
        (pkg / "__init__.py").write_text(
            "import os\ndef get_part_path():\n"
            f"    return os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'part{i:02d}.bin')\n"
        )


def test_assemble_concatenates_parts_once_and_checks_them(tmp_path, monkeypatch) -> None:
    import sys

    chunks = [b"GGUF" + b"a" * 60, b"b" * 40, b"c" * 10]
    _write_parts(tmp_path / "site", "evotest_llm_part", chunks)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = MODELS["qwen2.5-coder-0.5b"].model_copy(
        update={"key": "tiny", "module_prefix": "evotest_llm_part", "n_parts": 3, "total_bytes": 114}
    )
    out = assemble(spec, tmp_path / "models")
    assert out.read_bytes() == b"".join(chunks)
    stamp = out.stat().st_mtime_ns
    assert assemble(spec, tmp_path / "models").stat().st_mtime_ns == stamp  # reused, not rewritten
    (tmp_path / "site" / "evotest_llm_part3" / "data" / "part03.bin").write_bytes(b"d" * 11)
    with pytest.raises(LLMUnavailableError, match="expected 114"):
        assemble(spec, tmp_path / "models")
    bad = spec.model_copy(update={"key": "bad", "module_prefix": "evotest_llm_badpart", "n_parts": 1, "total_bytes": 5})
    _write_parts(tmp_path / "site", "evotest_llm_badpart", [b"XXXXX"])
    with pytest.raises(LLMUnavailableError, match="not a GGUF"):
        assemble(bad, tmp_path / "models")
    assert not list((tmp_path / "models").glob("*.tmp*"))
    for name in [m for m in sys.modules if m.startswith("evotest_llm_")]:
        del sys.modules[name]


def test_model_package_command_one_line_for_unknown_model_and_path_for_installed() -> None:
    """``python -m evorec.serving.llm.model_package KEY`` is what ``make llm`` runs for each model."""
    import subprocess
    import sys

    bad = subprocess.run([sys.executable, "-m", "evorec.serving.llm.model_package", "no-such-model"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()] and "no-such-model" in bad.stderr
    from evorec.serving.llm.model_package import DEFAULT_MODEL, is_installed

    if not is_installed(DEFAULT_MODEL):
        pytest.skip("the packaged GGUF is not installed here (`make llm` installs it)")
    ok = subprocess.run([sys.executable, "-m", "evorec.serving.llm.model_package", DEFAULT_MODEL],
                        capture_output=True, text=True, timeout=300)
    path = ok.stdout.strip()
    assert ok.returncode == 0 and path.endswith(".gguf")
    with open(path, "rb") as f:
        assert f.read(4) == b"GGUF"
