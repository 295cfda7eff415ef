"""OpenAI chat-completions, server side: the request both servers accept and the responses they send.

The request is the subset that matters to evorec's servers; unknown fields are accepted and ignored (clients
send many). Lists and strings are capped here so that a request is bounded before any work is done; each
server may tighten the caps (the API's facade does). Responses carry only what OpenAI clients read, plus a
typed extension field per server (``evorec`` on the facade, ``timings`` on the local LLM server).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_serializer

MAX_MESSAGES = 256
MAX_CONTENT_CHARS = 200_000  # far above any context window served here: a cap on work, not on use
MAX_CONTENT_PARTS = 64
MAX_TOOLS = 64
MAX_STOP = 8

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]
FinishReason = Literal["stop", "length", "tool_calls"]


class _OmitNone(BaseModel):
    """Serialised without its None fields (deltas and messages carry only what is set)."""

    @model_serializer(mode="wrap")
    def _omit_none(self, handler: Any) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


# ---------------------------------------------------------------- request


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Annotated[str, StringConstraints(max_length=64)]
    text: Annotated[str, StringConstraints(max_length=MAX_CONTENT_CHARS)] | None = None


class ChatMessage(BaseModel):
    """One message as clients send it; ``tool_calls`` (assistant) and ``tool_call_id`` (tool) ride as extras."""

    model_config = ConfigDict(extra="allow")
    role: Role
    content: (Annotated[str, StringConstraints(max_length=MAX_CONTENT_CHARS)]
              | Annotated[list[ContentPart], Field(max_length=MAX_CONTENT_PARTS)] | None) = None
    name: Annotated[str, StringConstraints(max_length=128)] | None = None

    def text(self) -> str:
        """The message's text: a string content, or its text parts joined by newlines."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text or "" for p in self.content if p.type in {"text", "input_text"})

    def as_dict(self) -> dict[str, Any]:
        """The message as the client sent it (extras included, unset fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: Annotated[str, StringConstraints(max_length=128)] | None = None
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    tools: Annotated[list[dict[str, Any]], Field(max_length=MAX_TOOLS)] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: (Annotated[str, StringConstraints(max_length=256)]
           | Annotated[list[Annotated[str, StringConstraints(max_length=256)]], Field(max_length=MAX_STOP)]
           | None) = None
    seed: int | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    n: int = 1
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    user: Annotated[str, StringConstraints(max_length=256)] | None = None

    def message_dicts(self) -> list[dict[str, Any]]:
        return [m.as_dict() for m in self.messages]

    @property
    def requested_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


# ---------------------------------------------------------------- responses


class FunctionCall(BaseModel):
    name: str
    arguments: str = Field(description="JSON text, as OpenAI sends it.")


class ToolCall(_OmitNone):
    index: int | None = Field(None, description="Set in stream deltas only.")
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ToolCall] | None = None

    @model_serializer(mode="wrap")
    def _omit_no_calls(self, handler: Any) -> dict[str, Any]:
        out = handler(self)
        if out.get("tool_calls") is None:
            out.pop("tool_calls", None)
        return out


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: FinishReason = "stop"
    logprobs: None = None


class PromptTokensDetails(BaseModel):
    cached_tokens: int = 0


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage = Field(default_factory=Usage)


class DeltaMessage(_OmitNone):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ToolCall] | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: DeltaMessage
    finish_reason: FinishReason | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = Field(None, description="The last chunk's, with stream_options.include_usage.")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "evorec"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
