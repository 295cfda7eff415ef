"""Qwen2.5 / Hermes chat format: OpenAI messages + tools -> ChatML prompt text, and back.

This is the format the Qwen2.5 (and Qwen2.5-Coder) instruct models were trained on, byte
for byte what their own Jinja chat template renders:

* tools are listed as JSON lines inside ``<tools></tools>`` in the system turn;
* the model answers a call as ``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``;
* tool results go back as ``<tool_response>`` blocks inside one user turn.

Written in Python (not the GGUF's Jinja) so it is exact, fast and unit-testable, and so
OpenAI-client quirks (``content: null``, arguments as a JSON *string*, multi-part content)
are handled here rather than rejected. The system turn comes first and does not depend on
the conversation, so consecutive calls share a long token prefix and llama.cpp reuses its
KV cache for it.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from pydantic import BaseModel, Field

DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
IM_START, IM_END = "<|im_start|>", "<|im_end|>"
TOOL_CALL_OPEN, TOOL_CALL_CLOSE = "<tool_call>", "</tool_call>"
STOP_STRINGS = [IM_END, "<|endoftext|>", "<|im_start|>"]

_TOOLS_HEADER = (
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
_TOOLS_FOOTER = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n'
    "</tool_call>"
)


class ParsedToolCall(BaseModel):
    """One tool call recovered from model text, in OpenAI's shape (arguments as a JSON string)."""

    id: str = Field(default_factory=lambda: f"call_{uuid.uuid4().hex[:24]}")
    name: str
    arguments: str

    def to_openai(self, index: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }
        if index is not None:
            out["index"] = index
        return out


class ParsedOutput(BaseModel):
    """Model text split into free text and tool calls; ``malformed`` counts blocks that were not valid JSON."""

    content: str | None
    tool_calls: list[ParsedToolCall] = Field(default_factory=list)
    malformed: int = 0


def content_text(content: Any) -> str:
    """OpenAI message content (None, a string, or a list of parts) as plain text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                parts.append(str(part.get("text", "")) if part.get("type", "text") == "text" else "")
            else:
                parts.append(str(part))
        return "".join(parts)
    return str(content)


def _dumps(obj: Any) -> str:
    # What HF's `tojson` produces (the models were trained on it): insertion order, ", " and ": ".
    return json.dumps(obj, ensure_ascii=False)


def _tool_json(tool: dict[str, Any]) -> str:
    if "function" not in tool and "name" in tool:  # bare function spec -> OpenAI tool shape
        tool = {"type": "function", "function": tool}
    return _dumps(tool)


def _arguments_obj(arguments: Any) -> Any:
    if isinstance(arguments, str):
        try:
            return json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            return arguments
    return arguments


def render_system(system: str | None, tools: list[dict[str, Any]] | None) -> str:
    """The system turn; identical for every call with the same system prompt and tools (KV-cache prefix)."""
    text = DEFAULT_SYSTEM if system is None else system
    if tools:
        lines = "".join("\n" + _tool_json(t) for t in tools)
        return f"{IM_START}system\n{text}{_TOOLS_HEADER}{lines}{_TOOLS_FOOTER}{IM_END}\n"
    return f"{IM_START}system\n{text}{IM_END}\n"


def render_prompt(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None = None,
    add_generation_prompt: bool = True,
) -> str:
    """Render OpenAI chat messages (dicts) and tools into the Qwen2.5 ChatML prompt."""
    msgs = list(messages)
    system: str | None = None
    if msgs and msgs[0].get("role") in ("system", "developer"):
        system = content_text(msgs[0].get("content"))
        msgs = msgs[1:]
    out = [render_system(system, tools)]
    for i, m in enumerate(msgs):
        role = m.get("role")
        text = content_text(m.get("content"))
        if role in ("user", "system", "developer"):
            out.append(f"{IM_START}{'system' if role == 'developer' else role}\n{text}{IM_END}\n")
        elif role == "assistant":
            calls = m.get("tool_calls") or []
            if not calls:
                out.append(f"{IM_START}assistant\n{text}{IM_END}\n")
                continue
            seg = f"{IM_START}assistant"
            if text:
                seg += "\n" + text
            for call in calls:
                fn = call.get("function", call)
                args = _dumps(_arguments_obj(fn.get("arguments", {})))
                seg += f'\n{TOOL_CALL_OPEN}\n{{"name": "{fn.get("name", "")}", "arguments": {args}}}\n{TOOL_CALL_CLOSE}'
            out.append(seg + f"{IM_END}\n")
        elif role in ("tool", "function"):
            prev_tool = i > 0 and msgs[i - 1].get("role") in ("tool", "function")
            next_tool = i + 1 < len(msgs) and msgs[i + 1].get("role") in ("tool", "function")
            seg = "" if prev_tool else f"{IM_START}user"
            seg += f"\n<tool_response>\n{text}\n</tool_response>"
            if not next_tool:
                seg += f"{IM_END}\n"
            out.append(seg)
        else:
            raise ValueError(f"unsupported message role: {role!r}")
    if add_generation_prompt:
        out.append(f"{IM_START}assistant\n")
    return "".join(out)


_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)


def _first_json_object(text: str) -> Any:
    """The first balanced {...} in text, parsed; raises ValueError when there is none."""
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object")
    decoder = json.JSONDecoder()
    obj, _ = decoder.raw_decode(text[start:])
    return obj


def _to_call(obj: Any) -> ParsedToolCall | None:
    if not isinstance(obj, dict):
        return None
    if "function" in obj and isinstance(obj["function"], dict):  # OpenAI-shaped output
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            return None
    if not isinstance(args, dict):
        return None
    return ParsedToolCall(name=name, arguments=_dumps(args))


def parse_output(text: str, tool_names: set[str] | None = None) -> ParsedOutput:
    """Split generated text into content and ``<tool_call>`` blocks.

    A block whose JSON does not parse, or names a tool that was not offered, counts as
    ``malformed`` and is dropped (the caller sees it as text-free, call-free output).
    """
    calls: list[ParsedToolCall] = []
    malformed = 0
    for block in _BLOCK.findall(text):
        try:
            call = _to_call(_first_json_object(block))
        except ValueError:
            call = None
        if call is None or (tool_names is not None and call.name not in tool_names):
            malformed += 1
            continue
        calls.append(call)
    content = _BLOCK.sub("", text).strip() if TOOL_CALL_OPEN in text else text.strip()
    return ParsedOutput(content=content or None, tool_calls=calls, malformed=malformed)


def tool_names_of(tools: list[dict[str, Any]] | None) -> set[str]:
    names = set()
    for t in tools or []:
        fn = t.get("function", t)
        if isinstance(fn, dict) and fn.get("name"):
            names.add(str(fn["name"]))
    return names


def forced_call_schema(tools: list[dict[str, Any]], only: str | None = None) -> dict[str, Any]:
    """JSON schema of one ``{"name", "arguments"}`` call object, for grammar-constrained (required) calls."""
    options = []
    defs: dict[str, Any] = {}
    legacy_defs: dict[str, Any] = {}
    for t in tools:
        fn = t.get("function", t)
        if only is not None and fn.get("name") != only:
            continue
        params = dict(fn.get("parameters") or {"type": "object", "properties": {}})
        # `#/$defs/X` refs resolve against the document root: hoist them there.
        defs.update(params.pop("$defs", {}) or {})
        legacy_defs.update(params.pop("definitions", {}) or {})
        options.append(
            {
                "type": "object",
                "properties": {"name": {"const": fn["name"]}, "arguments": params},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    if not options:
        raise ValueError(f"tool_choice names a tool that was not offered: {only!r}")
    schema: dict[str, Any] = dict(options[0]) if len(options) == 1 else {"anyOf": options}
    if defs:
        schema["$defs"] = defs
    if legacy_defs:
        schema["definitions"] = legacy_defs
    return schema


def looks_like_call(text: str) -> bool:
    """Did the model try to call a tool in a shape we could not use (fenced JSON, bad name, broken JSON)?"""
    if TOOL_CALL_OPEN in text:
        return True
    try:
        obj = _first_json_object(text)
    except ValueError:
        return False
    return (
        isinstance(obj, dict) and ("name" in obj or "function" in obj) and ("arguments" in obj or "parameters" in obj)
    )


def multi_call_gbnf(call_gbnf: str, max_calls: int = 4) -> str:
    """Wrap a GBNF grammar for ONE call object into 1..max_calls ``<tool_call>`` blocks.

    The prompt already ends with ``<tool_call>\n``, so the grammar starts inside the first block.
    """
    if max_calls < 1:
        raise ValueError("max_calls must be >= 1")
    body = re.sub(r"(?m)^root ::=", "evorec-call ::=", call_gbnf, count=1)
    sep = '"\\n</tool_call>\\n<tool_call>\\n"'
    more = "".join(f" ({sep} evorec-call" for _ in range(max_calls - 1)) + ")?" * (max_calls - 1)
    return f'root ::= evorec-call{more} "\\n</tool_call>"\n{body}'


_FENCE = re.compile(r"^```[a-zA-Z]*\s*")


def call_attempt_prefix(text: str) -> bool:
    """True as soon as free text has begun a bare/fenced JSON call (``{"name": ...``): abort and re-generate it."""
    head = _FENCE.sub("", text.lstrip(), count=1)
    if not head.startswith("{"):
        return False
    return re.match(r'\{\s*"(name|function)"\s*:', head) is not None
