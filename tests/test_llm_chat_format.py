"""Unit tests: Qwen/Hermes prompt rendering and tool-call parsing (no model needed)."""

from __future__ import annotations

import json

import jinja2
import pytest

from evorec.serving.llm.chat_format import (
    DEFAULT_SYSTEM,
    forced_call_schema,
    parse_output,
    render_prompt,
    render_system,
    tool_names_of,
)

# The chat template stored in Qwen2.5-(Coder-)Instruct GGUFs (tokenizer.chat_template), verbatim.
QWEN25_TEMPLATE = "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] == 'system' %}\n        {{- messages[0]['content'] }}\n    {%- else %}\n        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n    {%- endif %}\n    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\n    {%- for tool in tools %}\n        {{- \"\\n\" }}\n        {{- tool | tojson }}\n    {%- endfor %}\n    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n    {%- endif %}\n{%- endif %}\n{%- for message in messages %}\n    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or (message.role == \"assistant\" and not message.tool_calls) %}\n        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n    {%- elif message.role == \"assistant\" %}\n        {{- '<|im_start|>' + message.role }}\n        {%- if message.content %}\n            {{- '\\n' + message.content }}\n        {%- endif %}\n        {%- for tool_call in message.tool_calls %}\n            {%- if tool_call.function is defined %}\n                {%- set tool_call = tool_call.function %}\n            {%- endif %}\n            {{- '\\n<tool_call>\\n{\"name\": \"' }}\n            {{- tool_call.name }}\n            {{- '\", \"arguments\": ' }}\n            {{- tool_call.arguments | tojson }}\n            {{- '}\\n</tool_call>' }}\n        {%- endfor %}\n        {{- '<|im_end|>\\n' }}\n    {%- elif message.role == \"tool\" %}\n        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n            {{- '<|im_start|>user' }}\n        {%- endif %}\n        {{- '\\n<tool_response>\\n' }}\n        {{- message.content }}\n        {{- '\\n</tool_response>' }}\n        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n            {{- '<|im_end|>\\n' }}\n        {%- endif %}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n"  # noqa: E501

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_user_history",
            "description": "What the user watched — recent first.",
            "parameters": {"type": "object", "properties": {"user_id": {"type": "integer"}}, "required": ["user_id"]},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "rank_candidates",
            "description": "Rank items.",
            "parameters": {
                "type": "object",
                "properties": {"k": {"type": "integer"}, "avoid": {"$ref": "#/$defs/Genres"}},
                "$defs": {"Genres": {"type": "array", "items": {"type": "string"}}},
            },
        },
    },
]


def reference_render(messages: list[dict], tools: list[dict] | None) -> str:
    """What HF transformers renders with the model's own template (its tojson = json.dumps, unsorted)."""
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False)
    return env.from_string(QWEN25_TEMPLATE).render(messages=messages, tools=tools, add_generation_prompt=True)


def test_render_matches_model_template_with_tools_and_tool_results() -> None:
    messages = [
        {"role": "system", "content": "You are evorec."},
        {"role": "user", "content": "What did user 42 watch?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_user_history", "arguments": {"user_id": 42}},
                },
                {"id": "c2", "type": "function", "function": {"name": "rank_candidates", "arguments": {"k": 3}}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "Star Wars (1977), rated 5"},
        {"role": "tool", "tool_call_id": "c2", "content": "[50, 181]"},
        {"role": "assistant", "content": "User 42 liked Star Wars."},
        {"role": "user", "content": "And now?"},
    ]
    assert render_prompt(messages, TOOLS) == reference_render(messages, TOOLS)


def test_render_matches_model_template_without_tools_and_default_system() -> None:
    messages = [{"role": "user", "content": "Héllo <b>"}]
    assert render_prompt(messages) == reference_render(messages, None)
    assert DEFAULT_SYSTEM in render_prompt(messages)


def test_openai_client_quirks_are_accepted() -> None:
    """content null, arguments as a JSON string, list-of-parts content: what LangChain/openai send."""
    as_sent = [
        {"role": "user", "content": [{"type": "text", "text": "hi "}, {"type": "text", "text": "there"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_user_history", "arguments": '{"user_id": 7}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "nothing"},
    ]
    as_template_expects = [
        {"role": "user", "content": "hi there"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get_user_history", "arguments": {"user_id": 7}}}],
        },
        {"role": "tool", "content": "nothing"},
    ]
    out = render_prompt(as_sent, TOOLS)
    assert out == reference_render(as_template_expects, TOOLS)
    assert "<tool_response>\nnothing\n</tool_response>" in out
    assert '{"name": "get_user_history", "arguments": {"user_id": 7}}' in out


def test_system_prefix_is_stable_across_turns() -> None:
    """The KV-cache reuse depends on every call starting with the same bytes."""
    one = render_prompt([{"role": "system", "content": "S"}, {"role": "user", "content": "a"}], TOOLS)
    two = render_prompt(
        [{"role": "system", "content": "S"}, {"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}],
        TOOLS,
    )
    prefix = render_system("S", TOOLS)
    assert one.startswith(prefix) and two.startswith(prefix)


def test_unknown_role_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported message role"):
        render_prompt([{"role": "wizard", "content": "x"}])


def test_parse_single_and_multiple_tool_calls() -> None:
    text = (
        'Let me look.\n<tool_call>\n{"name": "get_user_history", "arguments": {"user_id": 42}}\n</tool_call>\n'
        '<tool_call>\n{"name": "rank_candidates", "arguments": {"k": 5}}\n</tool_call>'
    )
    out = parse_output(text, tool_names_of(TOOLS))
    assert [c.name for c in out.tool_calls] == ["get_user_history", "rank_candidates"]
    assert json.loads(out.tool_calls[0].arguments) == {"user_id": 42}
    assert out.content == "Let me look."
    assert out.malformed == 0
    call = out.tool_calls[0].to_openai(index=0)
    assert call["type"] == "function" and call["id"].startswith("call_") and call["index"] == 0


def test_parse_tolerates_missing_close_tag_fences_and_string_arguments() -> None:
    out = parse_output(
        '<tool_call>\n{"name": "get_user_history", "arguments": "{\\"user_id\\": 3}"}', {"get_user_history"}
    )
    assert out.tool_calls[0].name == "get_user_history" and json.loads(out.tool_calls[0].arguments) == {"user_id": 3}
    out = parse_output('<tool_call>\n```json\n{"name": "get_user_history", "arguments": {}}\n```\n</tool_call>')
    assert out.tool_calls[0].arguments == "{}"
    assert out.content is None


def test_parse_drops_malformed_and_unoffered_calls() -> None:
    out = parse_output(
        '<tool_call>\n{"name": "get_user_history", "arguments": {"user_id": 4\n</tool_call>', {"get_user_history"}
    )
    assert out.tool_calls == [] and out.malformed == 1
    out = parse_output('<tool_call>\n{"name": "rm_rf", "arguments": {}}\n</tool_call>', {"get_user_history"})
    assert out.tool_calls == [] and out.malformed == 1


def test_plain_text_has_no_calls() -> None:
    out = parse_output("  User 42 likes Sci-Fi.  ", {"get_user_history"})
    assert out.content == "User 42 likes Sci-Fi." and out.tool_calls == []


def test_forced_call_schema_hoists_defs_and_pins_the_name() -> None:
    one = forced_call_schema(TOOLS, "rank_candidates")
    assert one["properties"]["name"] == {"const": "rank_candidates"}
    assert "$defs" in one and "Genres" in one["$defs"]
    assert "$defs" not in one["properties"]["arguments"]
    both = forced_call_schema(TOOLS)
    assert len(both["anyOf"]) == 2
    with pytest.raises(ValueError):
        forced_call_schema(TOOLS, "nope")


def test_call_attempt_detection() -> None:
    from evorec.serving.llm.chat_format import call_attempt_prefix, looks_like_call

    assert call_attempt_prefix('```json\n{\n  "name": "recommend_movies"')
    assert call_attempt_prefix('{"function": {"name": "x"}}')
    assert not call_attempt_prefix('{"items": [1, 2]}')
    assert not call_attempt_prefix("User 42 likes Sci-Fi.")
    assert looks_like_call('```json\n{"name": "recommend_movies", "arguments": {"user_id": 42}}\n```')
    assert looks_like_call("<tool_call>\n{broken")
    assert not looks_like_call('{"items": [], "summary": "none"}')
    assert not looks_like_call("plain text")


def test_multi_call_grammar_wraps_one_call_rule() -> None:
    from evorec.serving.llm.chat_format import multi_call_gbnf

    gbnf = multi_call_gbnf('root ::= "{" space "}"\nspace ::= " "?\nxroot ::= "a"', max_calls=2)
    lines = gbnf.splitlines()
    assert lines[0] == 'root ::= evorec-call ("\\n</tool_call>\\n<tool_call>\\n" evorec-call)? "\\n</tool_call>"'
    assert 'evorec-call ::= "{" space "}"' in lines and 'xroot ::= "a"' in lines

