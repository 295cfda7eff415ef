"""Deciding how one chat request is generated, and turning generated text into the OpenAI message (pure).

``plan_request`` validates a request and chooses the prompt and constraint: free text (tool calls parsed out
of ``<tool_call>`` blocks), JSON under a grammar (``response_format``), or a forced call (``tool_choice``
required/named). ``build_message`` maps the model's text back. Unit-tested without a model.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from evorec.serving.llm.chat_format import (
    TOOL_CALL_OPEN,
    forced_call_schema,
    parse_output,
    render_prompt,
    tool_names_of,
)
from evorec.serving.wire.openai_types import AssistantMessage, ChatCompletionRequest, FinishReason, ToolCall


class RequestError(ValueError):
    """A request the server cannot serve as asked (-> HTTP 400 in the shared error body)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class Plan(BaseModel):
    """How one request is generated: prompt text, an optional grammar schema, and what the output is."""

    prompt: str
    mode: Literal["free", "json", "forced_call"]
    grammar_schema: str | None = None
    tool_names: set[str] = Field(default_factory=set)
    max_calls: int = Field(default=4, ge=1, description="1 when the request sets parallel_tool_calls: false.")
    repair_schema: str | None = Field(default=None, description="Call schema to re-generate a botched tool call.")


def plan_request(req: ChatCompletionRequest) -> Plan:
    """Validate a request and decide prompt + constraint."""
    if req.n != 1:
        raise RequestError("only n=1 is supported", "n")
    # Tools stay in the prompt even for tool_choice "none": the system+tools prefix then matches the
    # previous call's and its KV cache is reused; calls are simply not parsed out ("none" -> text only).
    tools = req.tools or None
    choice = req.tool_choice
    names = tool_names_of(tools) if choice != "none" else set()
    forced: str | None = None
    if tools and (choice == "required" or isinstance(choice, dict)):
        if isinstance(choice, dict):
            forced = (choice.get("function") or {}).get("name") or choice.get("name")
            if not forced or forced not in names:
                raise RequestError(f"tool_choice names a tool that was not offered: {forced!r}", "tool_choice")
    elif choice not in (None, "auto", "none", "required"):
        raise RequestError(f"unsupported tool_choice: {choice!r}", "tool_choice")
    try:
        prompt = render_prompt(req.message_dicts(), tools)
    except ValueError as e:
        raise RequestError(str(e), "messages") from None
    max_calls = 1 if req.parallel_tool_calls is False else 4
    if tools and (choice == "required" or forced):
        schema = forced_call_schema(tools, forced)
        return Plan(prompt=prompt + TOOL_CALL_OPEN + "\n", mode="forced_call", grammar_schema=json.dumps(schema),
                    tool_names=names, max_calls=max_calls)
    rf = req.response_format or {}
    rf_type = rf.get("type", "text")
    if rf_type == "json_schema":
        spec: Any = rf.get("json_schema") or {}
        answer_schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(answer_schema, dict):
            raise RequestError("response_format.json_schema.schema must be a JSON schema object", "response_format")
        return Plan(prompt=prompt, mode="json", grammar_schema=json.dumps(answer_schema), tool_names=names)
    if rf_type == "json_object":
        # llama.cpp servers accept an optional "schema" beside json_object; honour it.
        extra = rf.get("schema")
        return Plan(prompt=prompt, mode="json", grammar_schema=json.dumps(extra) if isinstance(extra, dict) else None,
                    tool_names=names)
    if rf_type != "text":
        raise RequestError(f"unsupported response_format type: {rf_type!r}", "response_format")
    repair = json.dumps(forced_call_schema(tools)) if tools and names else None
    return Plan(prompt=prompt, mode="free", tool_names=names, repair_schema=repair, max_calls=max_calls)


def build_message(plan: Plan, text: str) -> tuple[AssistantMessage, FinishReason]:
    """Generated text -> OpenAI assistant message and finish reason."""
    if plan.mode == "forced_call":  # the prompt ended inside the first block: 1..4 calls follow
        parsed = parse_output(f"{TOOL_CALL_OPEN}\n{text}", plan.tool_names)
    elif plan.mode == "json":
        return AssistantMessage(content=text.strip()), "stop"
    else:
        parsed = parse_output(text, plan.tool_names)
    if parsed.tool_calls:
        calls = [ToolCall.model_validate(c.to_openai()) for c in parsed.tool_calls]
        return AssistantMessage(content=parsed.content, tool_calls=calls), "tool_calls"
    return AssistantMessage(content=parsed.content), "stop"
