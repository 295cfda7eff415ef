"""The minimal chat-completions client the agent loop uses, and its OpenAI-protocol implementation.

The wire types are the ``openai`` package's: a reply's tool calls are its
``ChatCompletionMessageFunctionToolCall`` and its token counts its ``CompletionUsage``; :class:`ChatReply`
adds only what the protocol lacks (latency, llama.cpp's server-side time split).

The loop depends only on :class:`ChatModel` (one method, ``complete``), so the same loop runs
against a real OpenAI-compatible server (llama.cpp, vLLM) and against the scripted model the
unit tests use (:mod:`evorec.agent.scripted`). Every transport failure becomes
:class:`~evorec.errors.LLMUnavailableError`; the service turns that into a degraded answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from openai.types import CompletionUsage
from openai.types.chat import ChatCompletionMessageFunctionToolCall as FunctionToolCall
from openai.types.chat.chat_completion_message_function_tool_call import Function
from pydantic import BaseModel, Field

from evorec.errors import LLMUnavailableError
from evorec.settings import Settings

TokenSink = Callable[[str], None]


def function_call(call_id: str, name: str, arguments: str) -> FunctionToolCall:
    """A tool call as the ``openai`` package types it; ``arguments`` is the raw JSON text the model wrote."""
    return FunctionToolCall(id=call_id, type="function", function=Function(name=name, arguments=arguments or "{}"))


class ChatReply(BaseModel):
    """One completion: the assistant's content and tool calls, and what it cost."""

    content: str | None = None
    tool_calls: list[FunctionToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    usage: CompletionUsage | None = None
    latency_ms: float = 0.0
    prefill_ms: float | None = Field(None, description="Server-side prompt time (llama.cpp ``timings``), if sent.")
    generation_ms: float | None = Field(None, description="Server-side generation time, if sent.")

    @property
    def prompt_tokens(self) -> int | None:
        return self.usage.prompt_tokens if self.usage is not None else None

    @property
    def completion_tokens(self) -> int | None:
        return self.usage.completion_tokens if self.usage is not None else None

    @property
    def cached_tokens(self) -> int | None:
        """Prompt tokens the server reused from its KV cache, when it says."""
        details: Any = self.usage.prompt_tokens_details if self.usage is not None else None
        if isinstance(details, dict):  # a server's usage the client could not type (kept as sent)
            return details.get("cached_tokens")
        return details.cached_tokens if details is not None else None


def _timing_fields(timings: Any) -> dict[str, Any]:
    """The server-side time split, when the server sends llama.cpp's ``timings`` beside the OpenAI fields."""
    t = timings if isinstance(timings, dict) else {}
    return {"prefill_ms": t.get("prompt_ms"), "generation_ms": t.get("predicted_ms")}


@dataclass(frozen=True)
class CompleteOptions:
    """The keyword options of :meth:`ChatModel.complete`, with their defaults (one definition for every model)."""

    tools: list[dict[str, Any]] | None = None
    tool_choice: str = "auto"
    response_format: dict[str, Any] | None = None
    on_token: TokenSink | None = None
    max_tokens: int | None = None
    parallel_tool_calls: bool | None = None  # False: at most one call (OpenAI's parameter; None: not sent)


@runtime_checkable
class ChatModel(Protocol):
    """What the loop needs from an LLM: one chat completion, optionally with tools or a JSON schema."""

    name: str

    def complete(self, messages: list[dict[str, Any]], **options: Any) -> ChatReply:
        """One completion; ``options`` are the fields of :class:`CompleteOptions` (unknown ones: TypeError)."""
        ...


def sanitize_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Servers differ: llama.cpp's rejects ``content: null`` on assistant messages; send "" instead."""
    out = []
    for m in messages:
        m = dict(m)
        if m.get("content") is None:
            m["content"] = ""
        out.append(m)
    return out


ANY_SERVED_MODEL = "local"  # settings.llm_model's default


class OpenAIChatModel:
    """``openai`` client against one configured endpoint (no retries: the agent degrades instead)."""

    def __init__(self, base_url: str, model: str = ANY_SERVED_MODEL, api_key: str = "not-needed",
                 timeout_s: float = 120.0, temperature: float = 0.0, max_tokens: int = 768) -> None:
        from openai import OpenAI

        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.name = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self._client = OpenAI(base_url=self.base_url, api_key=api_key or "not-needed", timeout=timeout_s,
                              max_retries=0)
        self._json_schema_ok = True
        self._name_checked = model != ANY_SERVED_MODEL

    def served_model(self) -> str:
        """The model name sent. The default name ``local`` means "whatever this endpoint serves": our llama.cpp
        server takes any name, vLLM answers 404 to a name it does not serve, so ``local`` is replaced, once, by
        the first id of the endpoint's ``/models`` (kept as is when that listing fails or includes it)."""
        if not self._name_checked:
            self._name_checked = True
            import openai

            try:
                ids = [m.id for m in self._client.with_options(timeout=min(self.timeout_s, 10.0)).models.list().data]
            except openai.OpenAIError:  # left as configured: the chat call itself then reports what is wrong
                ids = []
            if ids and self.name not in ids:
                self.name = ids[0]
        return self.name

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIChatModel:
        return cls(settings.llm_url, settings.llm_model, settings.llm_api_key.get_secret_value(),
                   settings.llm_timeout_s)

    def complete(self, messages: list[dict[str, Any]], **options: Any) -> ChatReply:
        import openai

        o = CompleteOptions(**options)
        kwargs: dict[str, Any] = {"model": self.served_model(), "messages": sanitize_messages(messages),
                                  "temperature": self.temperature, "max_tokens": o.max_tokens or self.max_tokens}
        if o.tools:
            kwargs["tools"] = o.tools
            kwargs["tool_choice"] = o.tool_choice
            if o.parallel_tool_calls is not None:
                kwargs["parallel_tool_calls"] = o.parallel_tool_calls
        if o.response_format is not None:
            kwargs["response_format"] = o.response_format if self._json_schema_ok else _json_object_format(
                o.response_format)
        t0 = time.perf_counter()
        try:
            try:
                reply = self._stream(kwargs, o.on_token) if o.on_token else self._once(kwargs)
            except openai.BadRequestError:
                # Some servers reject response_format json_schema; retry once with json_object + schema.
                if o.response_format is None or not self._json_schema_ok:
                    raise
                self._json_schema_ok = False
                kwargs["response_format"] = _json_object_format(o.response_format)
                reply = self._stream(kwargs, o.on_token) if o.on_token else self._once(kwargs)
        except openai.APITimeoutError as e:
            raise LLMUnavailableError(f"LLM endpoint {self.base_url} timed out") from e
        except openai.APIConnectionError as e:
            raise LLMUnavailableError(f"LLM endpoint {self.base_url} unreachable: {e.__cause__ or e}") from e
        except openai.APIStatusError as e:
            raise LLMUnavailableError(f"LLM endpoint {self.base_url} answered HTTP {e.status_code}") from e
        except openai.OpenAIError as e:
            raise LLMUnavailableError(f"LLM endpoint {self.base_url} failed: {e}") from e
        reply.latency_ms = (time.perf_counter() - t0) * 1000
        return reply

    def _once(self, kwargs: dict[str, Any]) -> ChatReply:
        resp = self._client.chat.completions.create(**kwargs)
        choice = resp.choices[0]
        msg = choice.message
        calls = [function_call(tc.id or f"call_{i}", tc.function.name, tc.function.arguments)
                 for i, tc in enumerate(msg.tool_calls or []) if isinstance(tc, FunctionToolCall)]
        return ChatReply(content=msg.content, tool_calls=calls, finish_reason=choice.finish_reason, usage=resp.usage,
                         **_timing_fields((resp.model_extra or {}).get("timings")))

    def _stream(self, kwargs: dict[str, Any], on_token: TokenSink) -> ChatReply:
        # httpx's timeout bounds each read, and a stream that keeps trickling never trips it: bound the total too
        deadline = time.monotonic() + self.timeout_s
        stream = self._client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **kwargs)
        with stream:  # closed however the loop ends (an on_token that raises cancels the turn): the server stops
            return self._read_stream(stream, on_token, deadline)

    def _read_stream(self, stream: Any, on_token: TokenSink, deadline: float) -> ChatReply:
        parts: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        finish = None
        usage = timings = None
        for chunk in stream:
            if time.monotonic() > deadline:
                stream.close()
                raise LLMUnavailableError(
                    f"LLM endpoint {self.base_url} timed out (stream ran past {self.timeout_s:g} s)")
            usage = getattr(chunk, "usage", None) or usage
            timings = (chunk.model_extra or {}).get("timings") or timings
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            delta = choice.delta
            if delta.content:
                parts.append(delta.content)
                on_token(delta.content)
            for tc in delta.tool_calls or []:
                slot = calls.setdefault(tc.index or 0, {"id": "", "name": "", "arguments": ""})
                if tc.id:
                    slot["id"] = tc.id
                if tc.function and tc.function.name:
                    slot["name"] += tc.function.name
                if tc.function and tc.function.arguments:
                    slot["arguments"] += tc.function.arguments
            finish = choice.finish_reason or finish
        tool_calls = [function_call(c["id"] or f"call_{i}", c["name"], c["arguments"])
                      for i, c in sorted(calls.items())]
        return ChatReply(content="".join(parts) or None, tool_calls=tool_calls, finish_reason=finish, usage=usage,
                         **_timing_fields(timings))


def _json_object_format(response_format: dict[str, Any]) -> dict[str, Any]:
    schema = (response_format.get("json_schema") or {}).get("schema")
    out: dict[str, Any] = {"type": "json_object"}
    if schema:
        out["schema"] = schema
    return out


def llm_from_settings(settings: Settings) -> ChatModel | None:
    """The configured endpoint, or None when the agent must run plan-first (``llm=none`` or no URL)."""
    if settings.llm == "none" or not settings.llm_url:
        return None
    return OpenAIChatModel.from_settings(settings)
