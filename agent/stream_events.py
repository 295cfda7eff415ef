"""Streaming events of one agent turn (the API sends them as SSE, the REPL prints them)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from evorec.agent.recommendations import Recommendations


class AgentEvent(BaseModel):
    type: Literal["token", "tool_call", "tool_result", "final", "error"]
    text: str | None = Field(None, description="token: the text delta; error: the one-line message.")
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    issued_by: Literal["llm", "plan"] | None = None
    ok: bool | None = None
    summary: str | None = Field(None, description="tool_result: what the model was shown (truncated).")
    evidence_ids: list[str] = Field(default_factory=list)
    latency_ms: float | None = None
    recommendations: Recommendations | None = None

    def sse(self) -> str:
        """One Server-Sent-Events frame."""
        return f"event: {self.type}\ndata: {self.model_dump_json(exclude_none=True)}\n\n"


Emit = Callable[[AgentEvent], None]  # where a turn sends its events as they happen


_MESSAGE_START = re.compile(r'"message"\s*:\s*"')


class MessageStreamer:
    """Pulls the text of the ``"message"`` field out of a JSON answer while it is being generated,
    so a chat shows readable words instead of raw JSON."""

    def __init__(self) -> None:
        self.buf = ""
        self.emitted = 0
        self.done = False

    def feed(self, delta: str) -> str:
        self.buf += delta
        if self.done:
            return ""
        m = _MESSAGE_START.search(self.buf)
        if not m:
            return ""
        body = self.buf[m.end():]
        out, i = [], 0
        while i < len(body):
            ch = body[i]
            if ch == '"':
                self.done = True
                break
            if ch == "\\":
                if i + 1 >= len(body):
                    break
                if body[i + 1] == "u":
                    if i + 6 > len(body):
                        break
                    out.append(json.loads(f'"{body[i:i + 6]}"'))
                    i += 6
                    continue
                out.append(json.loads(f'"{body[i:i + 2]}"'))
                i += 2
                continue
            out.append(ch)
            i += 1
        text = "".join(out)
        new = text[self.emitted:]
        self.emitted = len(text)
        return new
