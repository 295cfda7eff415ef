"""evorec's own OpenAI-compatible chat server around ``llama_cpp.Llama`` (CPU default backend).

Why not llama-cpp-python's bundled server: measured with 0.3.36, its function-calling chat
handler drops ``role: tool`` messages (the model never sees tool results), and it rejects
assistant ``content: null`` and ``response_format: json_schema`` — all three are what
OpenAI clients and LangChain send. This server renders the model's own Qwen/Hermes tool
format (serving/llm/chat_format.py), parses ``<tool_call>`` blocks into OpenAI
``tool_calls``, enforces ``response_format`` and forced ``tool_choice`` with a llama.cpp
grammar built from the JSON schema, and keeps one model instance whose KV cache is reused
across calls that share the (stable) system+tools prefix.

Endpoints: ``GET /health``, ``GET /v1/models``, ``POST /v1/chat/completions``
(non-streaming and SSE streaming). Run: ``python -m evorec.serving.llm.local_server --model PATH``.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from evorec.serving.llm.chat_format import (
    STOP_STRINGS,
    TOOL_CALL_OPEN,
    call_attempt_prefix,
    forced_call_schema,
    looks_like_call,
    multi_call_gbnf,
    parse_output,
    render_prompt,
    tool_names_of,
)

ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


class ServerConfig(BaseModel):
    model_path: Path
    model_id: str
    n_ctx: int = Field(default=8192, ge=512)
    n_threads: int = Field(default=2, ge=1)
    n_batch: int = Field(default=512, ge=32)
    default_temperature: float = Field(default=0.2, ge=0.0, le=2.0, description="Used when a request sets none.")
    default_max_tokens: int = Field(default=768, ge=1)
    seed: int = 0
    json_repeat_penalty: float = Field(default=1.1, ge=1.0, le=2.0, description="For response_format JSON.")
    cache_bytes: int = Field(default=256 << 20, ge=0, description="RAM cache of KV states (0 = off).")
    grammar: Literal["lazy", "stock"] = Field(default="lazy", description="Greedy grammar decoding (server_llama.py).")


class ChatRequest(BaseModel):
    """The subset of OpenAI's chat-completions request that matters; unknown fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[dict[str, Any]] = Field(min_length=1)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    n: int = 1
    frequency_penalty: float | None = None
    presence_penalty: float | None = None


class RequestError(ValueError):
    """A request the server cannot serve as asked (-> HTTP 400 in OpenAI's error shape)."""

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


def plan_request(req: ChatRequest) -> Plan:
    """Validate a request and decide prompt + constraint (pure; unit-tested without a model)."""
    if req.n != 1:
        raise RequestError("only n=1 is supported", "n")
    for i, m in enumerate(req.messages):
        if m.get("role") not in ROLES:
            raise RequestError(f"messages[{i}].role must be one of {sorted(ROLES)}", f"messages[{i}].role")
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
        prompt = render_prompt(req.messages, tools)
    except ValueError as e:
        raise RequestError(str(e), "messages") from None
    max_calls = 1 if (req.model_extra or {}).get("parallel_tool_calls") is False else 4
    if tools and (choice == "required" or forced):
        schema = forced_call_schema(tools, forced)
        return Plan(
            prompt=prompt + TOOL_CALL_OPEN + "\n",
            mode="forced_call",
            grammar_schema=json.dumps(schema),
            tool_names=names,
            max_calls=max_calls,
        )
    rf = req.response_format or {}
    rf_type = rf.get("type", "text")
    if rf_type == "json_schema":
        spec = rf.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise RequestError("response_format.json_schema.schema must be a JSON schema object", "response_format")
        return Plan(prompt=prompt, mode="json", grammar_schema=json.dumps(schema), tool_names=names)
    if rf_type == "json_object":
        # llama.cpp servers accept an optional "schema" beside json_object; honour it.
        extra = rf.get("schema")
        return Plan(
            prompt=prompt,
            mode="json",
            grammar_schema=json.dumps(extra) if isinstance(extra, dict) else None,
            tool_names=names,
        )
    if rf_type != "text":
        raise RequestError(f"unsupported response_format type: {rf_type!r}", "response_format")
    repair = json.dumps(forced_call_schema(tools)) if tools and names else None
    return Plan(prompt=prompt, mode="free", tool_names=names, repair_schema=repair, max_calls=max_calls)


def build_message(plan: Plan, text: str) -> tuple[dict[str, Any], str]:
    """Generated text -> OpenAI assistant message and finish reason (pure)."""
    if plan.mode == "forced_call":  # the prompt ended inside the first block: 1..4 calls follow
        parsed = parse_output(f"{TOOL_CALL_OPEN}\n{text}", plan.tool_names)
    elif plan.mode == "json":
        return {"role": "assistant", "content": text.strip()}, "stop"
    else:
        parsed = parse_output(text, plan.tool_names)
    msg: dict[str, Any] = {"role": "assistant", "content": parsed.content}
    if parsed.tool_calls:
        msg["tool_calls"] = [c.to_openai() for c in parsed.tool_calls]
        return msg, "tool_calls"
    return msg, "stop"


class StreamSplitter:
    """Streams free text as it comes but holds back anything that may be the start of a ``<tool_call>``."""

    def __init__(self, hold_json: bool = False) -> None:
        self.text = ""
        self.emitted = 0
        self.in_call = False
        self.hold_json = hold_json  # tools offered: output starting like JSON may be a botched call; hold it
        self.held_json = False

    def feed(self, piece: str) -> str:
        self.text += piece
        if self.in_call:
            return ""
        if self.hold_json and self.emitted == 0:
            head = self.text.lstrip()
            if not head:
                return ""
            if head[0] in "{`":
                self.in_call = self.held_json = True
                return ""
        pending = self.text[self.emitted :]
        at = pending.find(TOOL_CALL_OPEN)
        if at >= 0:
            self.in_call = True
            out = pending[:at]
        else:
            keep = 0  # longest suffix of pending that is a prefix of the tag
            for k in range(min(len(TOOL_CALL_OPEN) - 1, len(pending)), 0, -1):
                if TOOL_CALL_OPEN.startswith(pending[-k:]):
                    keep = k
                    break
            out = pending[: len(pending) - keep]
        self.emitted += len(out)
        return out

    def flush(self) -> str:
        if self.in_call:
            return ""
        out = self.text[self.emitted :]
        self.emitted = len(self.text)
        return out


# llama-cpp-python 0.3.36's schema converter lets JSON strings hold raw control characters (its `char` rule is
# [^"\\]); a model that writes a newline inside a string then produces invalid JSON (measured: 1 answer in
# 67). llama.cpp's own converter and JSON_GBNF exclude \x00-\x1F and \x7F, as JSON requires.
_LOOSE_CHAR = re.compile(r'^(char ::= )\[\^"\\\\\]', re.MULTILINE)


def strict_json_strings(gbnf: str) -> str:
    """The converter's GBNF with JSON-legal string characters only (no raw control characters)."""
    return _LOOSE_CHAR.sub(lambda m: m.group(1) + r'[^"\\\x7F\x00-\x1F]', gbnf)


def schema_gbnf(schema: str, max_calls: int | None = None) -> str:
    """The GBNF the server decodes a JSON schema with (strict strings); with ``max_calls``, the schema is one
    tool call and the grammar allows 1..max_calls ``<tool_call>`` blocks of it."""
    import llama_cpp

    gbnf = strict_json_strings(llama_cpp.llama_grammar.json_schema_to_gbnf(schema))
    return gbnf if max_calls is None else multi_call_gbnf(gbnf, max_calls)


class Engine:
    """One llama.cpp model, serialised by a lock (llama.cpp contexts are not thread-safe)."""

    def __init__(self, config: ServerConfig) -> None:
        import llama_cpp

        from evorec.serving.llm.server_llama import ServerLlama

        self.config = config
        self._llama_cpp = llama_cpp
        self.llm = ServerLlama(
            lazy_grammar=config.grammar == "lazy",
            model_path=str(config.model_path),
            n_ctx=config.n_ctx,
            n_threads=config.n_threads,
            n_threads_batch=config.n_threads,
            n_batch=config.n_batch,
            seed=config.seed,
            verbose=False,
        )
        if config.cache_bytes:
            self.llm.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=config.cache_bytes))
        self.lock = threading.Lock()
        self.created = int(time.time())
        self.stats = {
            "requests": 0,
            "prompt_tokens": 0,
            "cached_tokens": 0,
            "completion_tokens": 0,
            "repaired_calls": 0,
        }

    def _grammar(self, plan: Plan) -> Any:
        g = self._llama_cpp.LlamaGrammar
        if plan.mode == "free":
            return None
        if plan.grammar_schema is None:
            return g.from_string(self._llama_cpp.llama_grammar.JSON_GBNF, verbose=False)
        try:
            gbnf = schema_gbnf(plan.grammar_schema, plan.max_calls if plan.mode == "forced_call" else None)
            return g.from_string(gbnf, verbose=False)
        except Exception as e:  # the converter raises plain exceptions for unsupported schema features
            raise RequestError(f"cannot build a grammar from this JSON schema: {e}", "response_format") from None

    def _repair(self, req: ChatRequest, plan: Plan) -> tuple[str, int]:
        """The model tried to call a tool but botched the format: re-generate the call under the call grammar.

        The prompt is the same plus ``<tool_call>\\n``, so its KV cache is reused; only the call is generated.
        Caller holds the lock.
        """
        forced = Plan(
            prompt=plan.prompt + TOOL_CALL_OPEN + "\n",
            mode="forced_call",
            grammar_schema=plan.repair_schema,
            tool_names=plan.tool_names,
            max_calls=plan.max_calls,
        )
        tokens, _ = self._tokens(forced)
        out = self.llm.create_completion(**self._kwargs(req, forced, tokens))
        self.stats["repaired_calls"] += 1
        return f"{TOOL_CALL_OPEN}\n{out['choices'][0]['text']}", out["usage"]["completion_tokens"]

    def _kwargs(self, req: ChatRequest, plan: Plan, tokens: list[int]) -> dict[str, Any]:
        stops = list(STOP_STRINGS)
        if req.stop:
            stops += [req.stop] if isinstance(req.stop, str) else list(req.stop)
        room = self.config.n_ctx - len(tokens)
        if room < 16:
            raise RequestError(f"prompt has {len(tokens)} tokens; the context window is {self.config.n_ctx}")
        max_tokens = min(req.max_completion_tokens or req.max_tokens or self.config.default_max_tokens, room)
        temperature = self.config.default_temperature if req.temperature is None else req.temperature
        return {
            "prompt": tokens,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": req.top_p if req.top_p is not None else 0.95,
            "stop": stops,
            "seed": req.seed,
            "grammar": self._grammar(plan),
            # Grammar-constrained JSON from a small model tends to loop ("a", "a", "a", ...); a mild
            # penalty breaks loops and cannot break the JSON (the grammar still decides what is allowed).
            "repeat_penalty": self.config.json_repeat_penalty if plan.mode == "json" else 1.0,
            "frequency_penalty": req.frequency_penalty or 0.0,
            "presence_penalty": req.presence_penalty or 0.0,
        }

    def _tokens(self, plan: Plan) -> tuple[list[int], int]:
        tokens = self.llm.tokenize(plan.prompt.encode("utf-8"), add_bos=False, special=True)
        cached = self._llama_cpp.Llama.longest_token_prefix(self.llm._input_ids.tolist(), tokens)
        return tokens, min(cached, max(len(tokens) - 1, 0))

    def _generate(self, plan: Plan, kwargs: dict[str, Any]) -> tuple[str, int, bool, float]:
        """Run one generation (streamed internally, to time the prompt); with tools offered, stop early once
        the text starts a bare/fenced JSON call. Returns text, tokens, cut by length, seconds to the first token."""
        text, n, cut, t0, first = "", 0, False, time.perf_counter(), None
        for part in self.llm.create_completion(stream=True, **kwargs):
            if first is None:
                first = time.perf_counter() - t0
            c = part["choices"][0]
            text += c.get("text") or ""
            n += 1
            cut = c.get("finish_reason") == "length"
            if plan.mode == "free" and plan.repair_schema and n <= 24 and call_attempt_prefix(text):
                break
        if text:  # stream parts can merge tokens (stop-string hold-back): count what was generated
            n = max(n, len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)))
        return text, n, cut, first if first is not None else time.perf_counter() - t0

    @staticmethod
    def _needs_repair(plan: Plan, text: str) -> bool:
        if plan.mode != "free" or not plan.repair_schema:
            return False
        if call_attempt_prefix(text):
            return True
        return not parse_output(text, plan.tool_names).tool_calls and looks_like_call(text)

    def _usage(self, prompt: int, cached: int, completion: int) -> dict[str, Any]:
        self.stats["requests"] += 1
        self.stats["prompt_tokens"] += prompt
        self.stats["cached_tokens"] += cached
        self.stats["completion_tokens"] += completion
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        }

    @staticmethod
    def _timings(prompt: int, cached: int, completion: int, prompt_s: float, total_s: float) -> dict[str, Any]:
        """llama-server's ``timings`` shape: prompt (prefill) vs predicted (generation) time."""
        gen_ms = max(total_s - prompt_s, 0.0) * 1000
        return {
            "prompt_n": prompt - cached,
            "prompt_ms": round(prompt_s * 1000, 1),
            "predicted_n": completion,
            "predicted_ms": round(gen_ms, 1),
            "predicted_per_second": round(completion / (gen_ms / 1000), 2) if gen_ms > 0 else None,
        }

    def complete(self, req: ChatRequest) -> dict[str, Any]:
        plan = plan_request(req)
        with self.lock:
            t0 = time.perf_counter()
            tokens, cached = self._tokens(plan)
            kwargs = self._kwargs(req, plan, tokens)
            text, n_out, length_cut, prompt_s = self._generate(plan, kwargs)
            if self._needs_repair(plan, text):
                text, extra = self._repair(req, plan)
                n_out += extra
            total_s = time.perf_counter() - t0
        message, finish = build_message(plan, text)
        if length_cut and finish == "stop":
            finish = "length"
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.config.model_id,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": self._usage(len(tokens), cached, n_out),
            "timings": self._timings(len(tokens), cached, n_out, prompt_s, total_s),
        }

    def stream(self, req: ChatRequest) -> Iterator[dict[str, Any]]:
        """OpenAI ``chat.completion.chunk`` dicts; tool calls arrive whole in one delta at the end."""
        plan = plan_request(req)
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": self.config.model_id,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            }

        with self.lock:
            t0 = time.perf_counter()
            tokens, cached = self._tokens(plan)
            kwargs = self._kwargs(req, plan, tokens)
            yield chunk({"role": "assistant", "content": ""})
            splitter = StreamSplitter(hold_json=bool(plan.repair_schema))
            n_out, length_cut, prompt_s = 0, False, None
            for part in self.llm.create_completion(stream=True, **kwargs):
                if prompt_s is None:
                    prompt_s = time.perf_counter() - t0
                c = part["choices"][0]
                n_out += 1
                piece = c.get("text") or ""
                if plan.mode == "forced_call":
                    splitter.text += piece
                else:
                    out = splitter.feed(piece)
                    if out:
                        yield chunk({"content": out})
                if c.get("finish_reason") == "length":
                    length_cut = True
                if splitter.held_json and n_out <= 24 and call_attempt_prefix(splitter.text):
                    break  # a botched call is coming: stop and re-generate it under the call grammar
            text = splitter.text
            if self._needs_repair(plan, text):
                text, extra = self._repair(req, plan)
                n_out += extra
            total_s = time.perf_counter() - t0
        message, finish = build_message(plan, text)
        if plan.mode != "forced_call":
            # Held-back JSON-looking output: send what parsing kept as content (nothing if it became a call).
            rest = (message.get("content") or "") if splitter.held_json else splitter.flush()
            if rest:
                yield chunk({"content": rest})
        if message.get("tool_calls"):
            calls = [dict(c, index=i) for i, c in enumerate(message["tool_calls"])]
            yield chunk({"tool_calls": calls})
        if length_cut and finish == "stop":
            finish = "length"
        yield chunk({}, finish)
        usage = self._usage(len(tokens), cached, n_out)
        if (req.stream_options or {}).get("include_usage"):
            yield {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": self.config.model_id,
                "choices": [],
                "usage": usage,
                "timings": self._timings(len(tokens), cached, n_out, prompt_s if prompt_s is not None else total_s,
                                         total_s),
            }


def _error(status: int, message: str, param: str | None = None, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": {"message": message, "type": kind, "param": param, "code": None}}
    )


def create_app(engine: Engine) -> FastAPI:

    app = FastAPI(title="evorec local LLM", version="1")

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "model": engine.config.model_id, **engine.stats, **engine.llm.grammar_counters}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {"id": engine.config.model_id, "object": "model", "created": engine.created, "owned_by": "evorec"}
            ],
        }

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        try:
            req = ChatRequest.model_validate(await request.json())
        except ValidationError as e:
            first = e.errors()[0]
            return _error(400, f"{'.'.join(map(str, first['loc']))}: {first['msg']}", None)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "request body is not valid JSON")
        try:
            plan_request(req)  # validate before committing to a streaming response
        except RequestError as e:
            return _error(400, str(e), e.param)
        if req.stream:

            def sse() -> Iterator[bytes]:
                try:
                    for c in engine.stream(req):
                        yield f"data: {json.dumps(c)}\n\n".encode()
                except RequestError as e:
                    err = {"error": {"message": str(e), "type": "invalid_request_error"}}
                    yield f"data: {json.dumps(err)}\n\n".encode()
                yield b"data: [DONE]\n\n"

            return StreamingResponse(sse(), media_type="text/event-stream")
        try:
            return await run_in_threadpool(engine.complete, req)
        except RequestError as e:
            return _error(400, str(e), e.param)

    return app


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="path to a .gguf file")
    ap.add_argument("--model-id", default=None)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=8192)
    ap.add_argument("--grammar", choices=["lazy", "stock"], default="lazy",
                    help="greedy grammar decoding: lazy (same tokens, faster) or llama-cpp-python's stock filter")
    args = ap.parse_args(argv)
    import uvicorn

    path = Path(args.model)
    config = ServerConfig(model_path=path, model_id=args.model_id or path.stem, n_ctx=args.ctx, n_threads=args.threads,
                          grammar=args.grammar)
    app = create_app(Engine(config))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
