"""A scripted chat model: the project's own stand-in LLM for control-flow tests of the agent loop.

It implements :class:`~evorec.agent.llm.ChatModel` and answers each ``complete`` call with the
next scripted step: a tool-call request, a JSON answer, plain text, an exception, or a function
of the request (to answer from what the loop actually sent). It records every request so tests
can check what the model was shown. It is NOT used in production paths.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evorec.agent.llm import ChatReply, CompleteOptions, function_call
from evorec.errors import LLMUnavailableError

Step = ChatReply | Exception | Callable[["ScriptedRequest"], ChatReply]


@dataclass
class ScriptedRequest:
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    response_format: dict[str, Any] | None
    tool_choice: str = "auto"

    @property
    def text(self) -> str:
        return "\n".join(str(m.get("content") or "") for m in self.messages)

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.tools or []]


def tool_calls(*calls: tuple[str, dict[str, Any] | str]) -> ChatReply:
    """A reply asking for tools, e.g. ``tool_calls(("rank_candidates", {"k": 5}))``; a str is sent raw."""
    out = []
    for i, (name, args) in enumerate(calls):
        raw = args if isinstance(args, str) else json.dumps(args)
        out.append(function_call(f"call_{i}", name, raw))
    return ChatReply(content=None, tool_calls=out, finish_reason="tool_calls")


def answer(payload: dict[str, Any] | str) -> ChatReply:
    """A final reply whose content is the given JSON object (or raw text)."""
    return ChatReply(content=payload if isinstance(payload, str) else json.dumps(payload), finish_reason="stop")


@dataclass
class ScriptedChatModel:
    steps: list[Step]
    name: str = "scripted"
    requests: list[ScriptedRequest] = field(default_factory=list)

    def complete(self, messages: list[dict[str, Any]], **options: Any) -> ChatReply:
        o = CompleteOptions(**options)
        on_token = o.on_token
        req = ScriptedRequest(json.loads(json.dumps(messages)), o.tools, o.response_format, o.tool_choice)
        self.requests.append(req)
        if not self.steps:
            raise LLMUnavailableError("scripted model has no more steps")
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        reply = step(req) if callable(step) else step.model_copy(deep=True)
        if on_token and reply.content:
            for i in range(0, len(reply.content), 8):
                on_token(reply.content[i:i + 8])
        return reply
